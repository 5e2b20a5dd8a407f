module github.com/teamtrack/team-simulator

go 1.26
