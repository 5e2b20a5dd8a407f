package geofence

// GeometryType is the kind of a fence's area.
type GeometryType string

const (
	// Polygon is a GeoJSON Polygon: an outer ring and optional holes.
	Polygon GeometryType = "Polygon"
	// MultiPolygon is a GeoJSON MultiPolygon: disjoint polygons.
	MultiPolygon GeometryType = "MultiPolygon"
	// Circle is a centre and a radius. GeoJSON has no circle: on the wire it
	// is a GeoJSON Point with a "radius" member in metres (a foreign member,
	// which GeoJSON readers ignore: they see the centre).
	Circle GeometryType = "Point"
)

// Position is a WGS84 longitude and latitude in degrees, in GeoJSON's order.
type Position struct {
	Lon, Lat float64
}

// Ring is a closed ring: at least 4 positions, the last equal to the first.
type Ring []Position

// Rings is a polygon: the outer ring first, then its holes.
type Rings []Ring

// Geometry is a fence's area.
type Geometry struct {
	Type GeometryType
	// Polygons holds the rings of a Polygon (exactly one element) or of a
	// MultiPolygon (one or more).
	Polygons []Rings
	// Center and Radius (metres) describe a Circle.
	Center Position
	Radius float64
}
