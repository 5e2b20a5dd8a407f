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

/**
 * Hues of the colour families of teams shown together: the team shown
 * first (blue), then the others (orange, green, purple, red, teal).
 */
export const FAMILY_HUES = [215, 28, 130, 280, 350, 175];

/**
 * The colour of a worker of a team shown beside others: a shade of its
 * team's family (hue within ±18° of the family's, lightness varied).
 */
export function familyColour(workerId: string, hue: number): string {
  const h = hash(workerId);
  const dh = (h % 37) - 18;
  const sat = 60 + ((h >>> 9) % 4) * 9; // 60-87 %
  const light = 34 + ((h >>> 13) % 4) * 6; // 34-52 %
  return `hsl(${(hue + dh + 360) % 360} ${sat}% ${light}%)`;
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
