package view

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// OpenStreetMap's standard tiles and the attribution their terms require.
const (
	DefaultTileURL         = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
	DefaultTileAttribution = `&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors`
)

// NoTiles as Config.TileURL turns the tile layer off: the map shows only its
// coordinate grid (no requests leave the origin).
const NoTiles = "none"

// Config is what a deployment tells the page. The handler writes it into
// index.html as JSON (a meta tag the page reads); the page's query
// parameters (strategy, team, tiles) override it per view.
type Config struct {
	// TileURL is the Leaflet URL template of the base map tiles, with {z},
	// {x} and {y} (and optionally {s}), or NoTiles. Default: DefaultTileURL.
	TileURL string `json:"tileURL"`
	// TileAttribution is shown on the map, as HTML. Default:
	// DefaultTileAttribution when TileURL is the default, else empty.
	TileAttribution string `json:"tileAttribution"`
	// DefaultStrategy is shown when the URL names none: "redis" or "kafka".
	// Default: "redis".
	DefaultStrategy string `json:"defaultStrategy"`
	// DefaultTeam is shown when the URL names none. Default: "team_one".
	DefaultTeam string `json:"defaultTeam"`
	// Teams are offered in the team picker (any valid team can be typed).
	// Default: team_one, team_two.
	Teams []string `json:"teams"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// withDefaults fills the zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.TileURL == "" {
		c.TileURL = DefaultTileURL
		if c.TileAttribution == "" {
			c.TileAttribution = DefaultTileAttribution
		}
	}
	c.DefaultStrategy, c.DefaultTeam = cmp.Or(c.DefaultStrategy, "redis"), cmp.Or(c.DefaultTeam, "team_one")
	if len(c.Teams) == 0 {
		c.Teams = []string{"team_one", "team_two"}
	}

	var errs []error
	if c.TileURL != NoTiles && !validTileURL(c.TileURL) {
		errs = append(errs, fmt.Errorf("view config: TileURL %q: want %q or an http(s) or root-relative URL with {z}, {x} and {y}", c.TileURL, NoTiles))
	}
	if c.DefaultStrategy != "redis" && c.DefaultStrategy != "kafka" {
		errs = append(errs, fmt.Errorf("view config: DefaultStrategy %q: want redis or kafka", c.DefaultStrategy))
	}
	for _, team := range append([]string{c.DefaultTeam}, c.Teams...) {
		if !idPattern.MatchString(team) {
			errs = append(errs, fmt.Errorf("view config: team %q: want 1-64 characters of [A-Za-z0-9_.:-]", team))
		}
	}
	return c, errors.Join(errs...)
}

func validTileURL(u string) bool {
	scheme := strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || (strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"))
	return scheme && strings.Contains(u, "{z}") && strings.Contains(u, "{x}") && strings.Contains(u, "{y}")
}
