module github.com/teamtrack/tracking-redis

go 1.26
