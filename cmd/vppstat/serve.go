package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vppstats/vppstats/internal/segwriter"
	"github.com/vppstats/vppstats/internal/vppsim"
)

// runServe implements `vppstat serve`: it plays VPP's stats socket for
// clients, handing out either a saved segment (--replay) or a live simulated
// one (--simulate), until SIGINT or SIGTERM.
func runServe(args []string) error {
	fs := flag.NewFlagSet("vppstat serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: vppstat serve --socket PATH (--replay FILE [--update-interval D] | --simulate [options])\n")
		fs.PrintDefaults()
	}
	var (
		socket   = fs.String("socket", "", "stats socket `PATH` to listen on (required)")
		replay   = fs.String("replay", "", "serve the saved segment `FILE` (plain or .gz); frozen unless --update-interval")
		simulate = fs.Bool("simulate", false, "serve a simulated, running VPP")
		o        vppsim.Options
	)
	fs.IntVar(&o.Interfaces, "interfaces", 4, "simulate: interfaces besides local0")
	fs.IntVar(&o.Threads, "threads", 1, "simulate: worker threads (thread 0, main, comes on top)")
	fs.IntVar(&o.Nodes, "nodes", 64, "simulate: graph nodes")
	fs.IntVar(&o.Errors, "errors", 128, "simulate: error counters")
	fs.Float64Var(&o.Rate, "rate", 1000, "simulate: packets per second per interface")
	fs.DurationVar(&o.Churn, "churn", 0, "simulate: delete or create an interface every `PERIOD` (0: never)")
	fs.DurationVar(&o.UpdateInterval, "update-interval", 10*time.Second, "stats collector period `D`, as statseg { update-interval }.\n"+
		"The default applies to --simulate; with --replay it is 0 (frozen) unless given. With --replay\n"+
		"and D > 0, every D the replay changes as a live VPP's segment does between directory changes\n"+
		"(in place, no lock, no epoch change): "+segwriter.ReplayUpdates()+" (every thread row)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected arguments %q", fs.Args())
	}
	if *socket == "" {
		return errors.New("serve: --socket PATH is required")
	}
	if (*replay == "") == !*simulate {
		return errors.New("serve: give exactly one of --replay FILE and --simulate")
	}
	simOnly := map[string]bool{"interfaces": true, "threads": true, "nodes": true, "errors": true,
		"rate": true, "churn": true}
	var misplaced error
	intervalSet := false
	fs.Visit(func(f *flag.Flag) {
		intervalSet = intervalSet || f.Name == "update-interval"
		if simOnly[f.Name] && !*simulate && misplaced == nil {
			misplaced = fmt.Errorf("serve: --%s only applies with --simulate", f.Name)
		}
	})
	if misplaced != nil {
		return misplaced
	}
	if *simulate && o.UpdateInterval <= 0 {
		return errors.New("serve: --update-interval must be positive")
	}
	if o.UpdateInterval < 0 {
		return errors.New("serve: --update-interval must not be negative (0: a frozen replay)")
	}
	updating := *replay != "" && intervalSet && o.UpdateInterval > 0

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if updating {
		return serveUpdatingReplay(ctx, *socket, *replay, o.UpdateInterval)
	}
	if *replay != "" {
		srv, err := segwriter.ServeFile(*socket, *replay)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		log.Printf("serving %s on %s", *replay, srv.Path())
		<-ctx.Done()
		log.Printf("stopping; removing %s", srv.Path())
		return srv.Close()
	}

	sim, err := vppsim.New(o)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer sim.Close()
	srv, err := segwriter.NewServer(*socket, sim.Writer().Fd())
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Printf("serving a simulated VPP (%d interfaces, %d workers, %d nodes, %d errors, %g pps per interface, churn %v, update interval %v) on %s",
		o.Interfaces, o.Threads, o.Nodes, o.Errors, o.Rate, o.Churn, o.UpdateInterval, srv.Path())
	runErr := sim.Run(ctx)
	log.Printf("stopping; removing %s", srv.Path())
	if err := srv.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// serveUpdatingReplay serves a saved segment that a segwriter.Replay keeps
// updating every interval, until ctx is done.
func serveUpdatingReplay(ctx context.Context, socket, file string, interval time.Duration) error {
	rp, err := segwriter.OpenReplay(file, interval)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer rp.Close()
	srv, err := segwriter.NewServer(socket, rp.Fd())
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Printf("serving %s on %s, updated every %v", file, srv.Path(), interval)
	runErr := rp.Run(ctx)
	log.Printf("stopping; removing %s", srv.Path())
	if err := srv.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
