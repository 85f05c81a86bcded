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
		fmt.Fprintf(fs.Output(), "usage: vppstat serve --socket PATH (--replay FILE | --simulate [options])\n")
		fs.PrintDefaults()
	}
	var (
		socket   = fs.String("socket", "", "stats socket `PATH` to listen on (required)")
		replay   = fs.String("replay", "", "serve the saved segment `FILE` (plain or .gz), frozen")
		simulate = fs.Bool("simulate", false, "serve a simulated, running VPP")
		o        vppsim.Options
	)
	fs.IntVar(&o.Interfaces, "interfaces", 4, "simulate: interfaces besides local0")
	fs.IntVar(&o.Threads, "threads", 1, "simulate: worker threads (thread 0, main, comes on top)")
	fs.IntVar(&o.Nodes, "nodes", 64, "simulate: graph nodes")
	fs.IntVar(&o.Errors, "errors", 128, "simulate: error counters")
	fs.Float64Var(&o.Rate, "rate", 1000, "simulate: packets per second per interface")
	fs.DurationVar(&o.Churn, "churn", 0, "simulate: delete or create an interface every `PERIOD` (0: never)")
	fs.DurationVar(&o.UpdateInterval, "update-interval", 10*time.Second, "simulate: stats collector period, as statseg { update-interval }")
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
		"rate": true, "churn": true, "update-interval": true}
	var misplaced error
	fs.Visit(func(f *flag.Flag) {
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

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

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
