// A stable colour per worker: the same id gets the same colour in every
// browser and session, so people can talk about "the purple one".

/** FNV-1a, 32 bit: small, fast and well spread for short ids. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The colour of a worker, as a CSS colour. */
export function workerColour(workerId: string): string {
  const h = hash(workerId);
  const hue = h % 360;
  // Vary saturation and lightness a little too, so close hues still differ,
  // but stay dark enough to read on a light map.
  const sat = 62 + ((h >>> 9) % 4) * 8; // 62-86 %
  const light = 38 + ((h >>> 13) % 3) * 6; // 38-50 %
  return `hsl(${hue} ${sat}% ${light}%)`;
}
