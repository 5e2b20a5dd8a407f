module github.com/teamtrack/api-gateway

go 1.26
