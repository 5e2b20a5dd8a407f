module github.com/teamtrack/tracking-kafka

go 1.26
