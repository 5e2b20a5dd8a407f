package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// LastPositions returns the last known position of each worker of team
// ({base}/{team}/positions), records undecoded.
func (c *Client) LastPositions(ctx context.Context, team string) ([]json.RawMessage, error) {
	url := c.url("/" + team + "/positions")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", redact(url), err)
	}
	for k, v := range c.header() {
		req.Header[k] = v
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", redact(url), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, newStatusError(http.MethodGet, url, resp, nil)
	}
	var recs []json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&recs); err != nil {
		return nil, fmt.Errorf("get %s: decode: %w", redact(url), err)
	}
	return recs, nil
}
