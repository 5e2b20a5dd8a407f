package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"sync"
	"time"

	tracking "github.com/teamtrack/tracking-core"
	"github.com/teamtrack/tracking-core/client"
	"github.com/teamtrack/tracking-core/memory"
	"github.com/teamtrack/tracking-core/service"
	"github.com/teamtrack/tracking-core/wire/apiclient"
)

// startService runs a tracking replica on the memory broker on a loopback
// port for the examples; integrators point the client at a real one (a
// replica's /tracking, or the gateway's /tracking/redis).
func startService() (base string, stop func()) {
	svc, err := service.New(service.Config{HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second},
		memory.New(memory.NewBackend(), memory.Config{}))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	return fmt.Sprintf("http://%s/tracking", svc.Addr()), func() {
		cancel()
		if err := <-done; err != nil {
			log.Print(err)
		}
	}
}

// A worker reports positions; a manager watching its team sees them.
func Example() {
	base, stop := startService()
	defer stop()
	api := apiclient.MustNew(base, apiclient.Config{Token: ""}) // a token when AUTH_MODE is not none
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	watching := make(chan struct{})
	watched := make(chan error, 1)
	go func() {
		seen, once := 0, sync.Once{}
		watched <- client.Watch(ctx, api, "team_one", client.WatchOptions{Transport: client.WebSocket},
			func(ev *apiclient.Event) error {
				if ev.ID != "" {
					once.Do(func() { close(watching) }) // the snapshot (empty here) is over: live events follow
				}
				for _, p := range ev.Positions {
					var rec tracking.Position
					if err := json.Unmarshal(p, &rec); err != nil {
						return err
					}
					fmt.Printf("%s of %s at %.5f,%.5f\n", rec.WorkerID, rec.Team, rec.Location.Latitude, rec.Location.Longitude)
					if seen++; seen == 2 {
						return client.ErrStop
					}
				}
				return nil
			})
	}()
	<-watching

	w, err := client.DialWorker(ctx, api, client.WorkerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for _, lat := range []float64{-23.55052, -23.55060} {
		p := tracking.Position{WorkerID: "w-17", Team: "team_one", Location: tracking.Location{Latitude: lat, Longitude: -46.633308}}
		if err := w.Send(ctx, p); err != nil {
			log.Fatal(err)
		}
	}
	if err := <-watched; err != nil {
		log.Fatal(err)
	}
	// Output:
	// w-17 of team_one at -23.55052,-46.63331
	// w-17 of team_one at -23.55060,-46.63331
}

// A worker receives its managers' messages and acknowledges them.
func ExampleWorker_Messages() {
	api := apiclient.MustNew("http://localhost:8080/tracking/redis", apiclient.Config{Token: "a worker's token"})
	ctx := context.Background()
	w, err := client.DialWorker(ctx, api, client.WorkerOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	for m := range w.Messages() {
		fmt.Printf("message %s: %s\n", m.ID, m.Body)
		if err := w.Ack(ctx, m.ID); err != nil {
			log.Print(err)
		}
	}
}

// A manager resumes a team's stream after the last id it had (kept from
// an earlier run): it gets what it missed, then live events.
func ExampleWatch_resume() {
	api := apiclient.MustNew("http://localhost:8080/tracking/redis", apiclient.Config{Token: "a manager's token"})
	last := "1764669600000-0.42" // ev.ID of the last event handled before
	err := client.Watch(context.Background(), api, "team_one", client.WatchOptions{After: last},
		func(ev *apiclient.Event) error {
			if ev.Reset {
				fmt.Println("could not resume: a fresh snapshot follows")
			}
			if ev.ID != "" {
				last = ev.ID // persist it to resume after a restart
			}
			return nil
		})
	log.Print(err)
}
