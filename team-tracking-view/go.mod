module github.com/teamtrack/team-tracking-view

go 1.26
