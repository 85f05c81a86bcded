// Command vppstat reads VPP's stats segment like VPP's own vpp_get_stats,
// serves captured or simulated segments like VPP does, and captures them.
//
//	vppstat ls      [--socket PATH | --segment FILE] [-l] [REGEX...]
//	vppstat dump    [--socket PATH | --segment FILE] [REGEX...]
//	vppstat capture [--socket PATH] -o FILE
//	vppstat serve   --socket PATH (--replay FILE | --simulate [options])
package main

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/vppstats/vppstats/internal/statseg"
)

const usage = `usage:
  vppstat ls      [--socket PATH | --segment FILE] [-l] [REGEX...]   list stat names
  vppstat dump    [--socket PATH | --segment FILE] [REGEX...]        print values as vpp_get_stats dump does
  vppstat capture [--socket PATH] -o FILE                            save a consistent copy of the segment
  vppstat serve   --socket PATH (--replay FILE | --simulate ...)     serve a segment as VPP does

REGEX selects stats whose name matches any of them (all when none).
FILE may be plain or gzip (name ending in .gz).
Run 'vppstat COMMAND -h' for a command's options.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "ls":
		err = runList(args, os.Stdout)
	case "dump":
		err = runDump(args, os.Stdout)
	case "capture":
		err = runCapture(args)
	case "serve":
		err = runServe(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "vppstat:", err)
		os.Exit(1)
	}
}

// source is where a command reads the segment from.
type source struct {
	socket, segment string
	timeout         time.Duration
}

func (s *source) register(fs *flag.FlagSet) {
	fs.StringVar(&s.socket, "socket", statseg.DefaultSocketPath, "VPP stats socket (statseg { socket-name })")
	fs.StringVar(&s.segment, "segment", "", "read a saved segment `FILE` (plain or .gz) instead of the socket")
	fs.DurationVar(&s.timeout, "timeout", 5*time.Second, "time allowed to receive the segment from the socket")
}

// check refuses --socket and --segment together: which one is meant?
func (s *source) check(fs *flag.FlagSet) error {
	socketSet := false
	fs.Visit(func(f *flag.Flag) { socketSet = socketSet || f.Name == "socket" })
	if socketSet && s.segment != "" {
		return errors.New("give either --socket or --segment, not both")
	}
	return nil
}

func (s *source) open() (*statseg.Reader, error) {
	if s.segment != "" {
		return statseg.OpenFile(s.segment)
	}
	return statseg.Connect(s.socket, s.timeout)
}

// parse parses flags that may come before or after the regexes.
func parse(fs *flag.FlagSet, args []string) ([]*regexp.Regexp, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
	patterns := make([]*regexp.Regexp, 0, len(rest))
	for _, p := range rest {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
		patterns = append(patterns, re)
	}
	return patterns, nil
}

// readSelected registers the source flags on fs (beside the command's own),
// parses args, and reads the stats matching the patterns in them. Entries
// that cannot be read are left for entryErrors to report after the rest.
func readSelected(fs *flag.FlagSet, args []string) (*statseg.Snapshot, error) {
	var src source
	src.register(fs)
	patterns, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if err := src.check(fs); err != nil {
		return nil, err
	}
	r, err := src.open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var s statseg.Snapshot
	err = r.Snapshot(&s, func(e *statseg.Entry) bool { return statseg.Match(patterns, e.Name) })
	return &s, err
}

func runDump(args []string, out io.Writer) error {
	s, err := readSelected(flag.NewFlagSet("dump", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	if err := statseg.WriteDump(out, s); err != nil {
		return err
	}
	return entryErrors(s)
}

func runList(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	long := fs.Bool("l", false, "also print each stat's type and shape")
	s, err := readSelected(fs, args)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, i := range s.Wanted {
		e := &s.Dir.Entries[i]
		if !*long {
			fmt.Fprintln(&b, e.Name)
			continue
		}
		fmt.Fprintf(&b, "%-17s %-12s %s\n", e.Type, shape(e, &s.Values[i]), e.Name)
	}
	if _, err := io.WriteString(out, b.String()); err != nil {
		return err
	}
	return entryErrors(s)
}

// shape describes an entry's dimensions for ls -l.
func shape(e *statseg.Entry, v *statseg.Value) string {
	switch e.Type {
	case statseg.TypeSymlink:
		return fmt.Sprintf("->%d[%d]", e.Target, e.Column)
	case statseg.TypeNameVector:
		return fmt.Sprintf("%d", len(e.Names))
	}
	var rows, cols int
	switch {
	case v.Simple != nil:
		rows, cols = len(v.Simple), len(v.Simple[0])
	case v.Combined != nil:
		rows, cols = len(v.Combined), len(v.Combined[0])
	case v.Histogram != nil:
		rows, cols = len(v.Histogram), len(v.Histogram[0])
	default:
		return "-"
	}
	return fmt.Sprintf("%dx%d", rows, cols)
}

func entryErrors(s *statseg.Snapshot) error {
	if len(s.Errs) == 0 {
		return nil
	}
	for _, err := range s.Errs {
		fmt.Fprintln(os.Stderr, "vppstat:", err)
	}
	return fmt.Errorf("%d stats could not be read (see above)", len(s.Errs))
}

func runCapture(args []string) error {
	fs := flag.NewFlagSet("capture", flag.ContinueOnError)
	var src source
	src.register(fs)
	output := fs.String("o", "", "write the segment to `FILE`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *output == "" || fs.NArg() != 0 {
		return errors.New("capture: give the output file with -o FILE and no other arguments")
	}
	if err := src.check(fs); err != nil {
		return err
	}
	r, err := src.open()
	if err != nil {
		return err
	}
	defer r.Close()
	data, err := r.Copy()
	if err != nil {
		return err
	}
	return writeSegmentFile(*output, data)
}

// writeSegmentFile writes data to path, gzip-compressed when path ends in
// .gz, through a temporary file so that a failed capture leaves no torn file.
func writeSegmentFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vppstat-capture-*")
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	defer os.Remove(tmp.Name())
	var w io.Writer = tmp
	var zw *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(tmp)
		w = zw
	}
	if _, err := w.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("capture: writing %s: %w", path, err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			tmp.Close()
			return fmt.Errorf("capture: writing %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("capture: writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
