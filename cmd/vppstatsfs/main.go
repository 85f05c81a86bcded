// Command vppstatsfs shows VPP's statistics segment as a read-only
// filesystem, like /proc: every stat is a file whose content is its value at
// the time it is opened. See docs/vppstatsfs.md.
//
//	vppstatsfs [--socket /run/vpp/stats.sock | --segment FILE] [--allow-other] [--debug] [--cache DURATION] MOUNTPOINT
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vppstats/vppstats/internal/statseg"
	"github.com/vppstats/vppstats/internal/statsfs"
)

// connectTimeout bounds one exchange with VPP's stats socket.
const connectTimeout = 2 * time.Second

func main() {
	log.SetFlags(log.LstdFlags)
	log.SetPrefix("vppstatsfs: ")
	if err := run(os.Args[1:]); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("vppstatsfs", flag.ContinueOnError)
	socket := fl.String("socket", "", "VPP's stats socket (default "+statseg.DefaultSocketPath+")")
	segment := fl.String("segment", "", "a saved stats segment (plain or .gz) to show instead of a live VPP")
	allowOther := fl.Bool("allow-other", false, "let other users read the mount (non-root needs user_allow_other in /etc/fuse.conf)")
	debug := fl.Bool("debug", false, "log every FUSE request")
	timeout := fl.Duration("cache", time.Second, "how long the kernel may cache names and attributes")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: vppstatsfs [--socket PATH | --segment FILE] [--allow-other] [--debug] [--cache DURATION] MOUNTPOINT\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errors.New("need exactly one MOUNTPOINT")
	}
	if *socket != "" && *segment != "" {
		return errors.New("--socket and --segment exclude each other")
	}
	cfg := statsfs.Config{AllowOther: *allowOther, Debug: *debug, Timeout: *timeout, Logger: log.Default()}
	if *segment != "" {
		path := *segment
		cfg.Source = path
		cfg.Open = func() (*statseg.Reader, error) { return statseg.OpenFile(path) }
	} else {
		path := *socket
		if path == "" {
			path = statseg.DefaultSocketPath
		}
		cfg.Source = path
		cfg.Open = func() (*statseg.Reader, error) { return statseg.Connect(path, connectTimeout) }
	}
	// Fail early on a source that cannot be read at all; a VPP that is
	// merely down is followed once mounted.
	if r, err := cfg.Open(); err != nil {
		if *segment != "" {
			return err
		}
		log.Printf("%v (mounting anyway: reads fail with EIO until VPP is up)", err)
	} else {
		r.Close()
	}
	if why := statsfs.Unavailable(); why != "" {
		return fmt.Errorf("cannot mount %s: FUSE is unavailable: %s", fl.Arg(0), why)
	}
	srv, err := statsfs.Mount(fl.Arg(0), cfg)
	if err != nil {
		return fmt.Errorf("mount %s: %w", fl.Arg(0), err)
	}
	log.Printf("stats of %s mounted read-only at %s", cfg.Source, fl.Arg(0))
	go unmountOnSignal(srv, fl.Arg(0))
	srv.Wait()
	return nil
}

// unmountOnSignal unmounts on SIGINT or SIGTERM. While the mount is busy
// it says so and keeps trying, once a second, until it is free or another
// signal arrives... which tries again at once.
func unmountOnSignal(srv *statsfs.Server, mountpoint string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	log.Printf("%v: unmounting %s", s, mountpoint)
	for {
		err := srv.Unmount()
		if err == nil {
			return
		}
		log.Printf("unmount %s: %v (is a process using it? `fusermount3 -u -z %s` detaches it lazily)", mountpoint, err, mountpoint)
		select {
		case s = <-sig:
			log.Printf("%v: unmounting %s", s, mountpoint)
		case <-time.After(time.Second):
		}
	}
}
