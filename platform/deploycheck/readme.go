package deploycheck

import (
	"bufio"
	"os"
	"regexp"
	"strings"
)

// ConfigRow is one documented environment variable: a row of a README
// table whose first column is the variable.
type ConfigRow struct {
	Name    string
	Scope   string // the row's service column, else the heading above the table
	Default string // the default column, or ""
	Line    int
}

var backticked = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// ParseConfigTables returns the rows of every Markdown table in file whose
// header's first cell says "variable" (e.g. "| variable | service | default |
// meaning |"). A cell naming several variables gives a row for each.
func ParseConfigTables(file string) ([]ConfigRow, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		rows     []ConfigRow
		heading  string
		header   []string // of the table being read, nil when not in one
		isConfig bool
		n        int
		prev     string
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(line, "#"))
			header = nil
		case !strings.HasPrefix(line, "|"):
			header = nil
		case header == nil && isSeparatorRow(line) && strings.HasPrefix(prev, "|"):
			header = tableCells(prev)
			isConfig = len(header) > 0 && strings.Contains(strings.ToLower(header[0]), "variable")
		case header != nil && isConfig:
			cells := tableCells(line)
			scope := heading
			def := ""
			for i, h := range header {
				if i >= len(cells) {
					break
				}
				switch strings.ToLower(h) {
				case "service", "services":
					scope = cells[i]
				case "default":
					def = cells[i]
				}
			}
			for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
				rows = append(rows, ConfigRow{Name: m[1], Scope: scope, Default: def, Line: n})
			}
		}
		prev = line
	}
	return rows, sc.Err()
}

func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	cells := strings.Split(line, "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

func isSeparatorRow(line string) bool {
	for _, c := range tableCells(line) {
		if strings.Trim(c, ":-") != "" || !strings.Contains(c, "-") {
			return false
		}
	}
	return true
}
