package main

import (
	"fmt"
	"github.com/mattn/go-isatty"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/internal/obs"
	"github.com/chama-data/chama/naming"
)

// version is set by the Makefile through -ldflags.
var version = "dev"

// globals are the flags every command shares.
type globals struct {
	ConfigPath string
	LogFormat  string
	Verbose    int
	Log        *slog.Logger
	Stdout     io.Writer
	Stderr     io.Writer

	// MetricsFile is --metrics-file: a Prometheus textfile every stage
	// run updates (see internal/metrics); RunID names this process's runs.
	MetricsFile string
	RunID       string
}

// commands are added by each command file's init, so that command files
// never touch each other.
var commands []func(*globals) *cobra.Command

func register(f func(*globals) *cobra.Command) { commands = append(commands, f) }

func newRoot() *cobra.Command {
	g := &globals{Stdout: os.Stdout, Stderr: os.Stderr}
	root := &cobra.Command{
		Use:   "chama",
		Short: "Produce and deliver offline interface files",
		Long: `chama turns the hourly Hive partitions of an interface into exactly
split, correctly named, gzipped interface files with a .verf check file,
and delivers them over SFTP to the file-exchange platform.

One subcommand per stage and period, so Airflow or cron can call them:
  chama pull      --date 2024121207 --iface 51007   stage an hour from HDFS
  chama transform --date 20241212 --layer ads       clean and route ODS rows
  chama pack      --date 20241212 --iface 51007     cut and gzip the files
  chama push      --date 20241212                   deliver them over SFTP
  chama verify    --date 20241212 --remote          check what was delivered
  chama run       --date 20241212                   pack, push, verify in order
  chama status    --date 20241212                   what is done, per stage

Try it end to end on generated data: chama demo --dir /tmp/chama-demo

Periods: --date 20241212 (a day), 2024121207 (an hour), 20231220..20231228
(a range), or a comma list of these; 400 days of periods at most in all
(an hour counts 1/24 of a day: 9600 hours).

Exit codes: 0 success, 1 failure, 2 usage or config error,
3 partly done and safe to retry, 4 nothing to do yet (input not ready).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.setup()
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exit.With(exit.Usage, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	def := os.Getenv("CHAMA_CONFIG")
	if def == "" {
		def = "chama.yaml"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", def, "config file (when not given: $CHAMA_CONFIG, else ./chama.yaml)")
	pf.StringVar(&g.LogFormat, "log-format", "text", "log format: text or json (one object per line)")
	pf.CountVarP(&g.Verbose, "verbose", "v", "more logging (-v debug)")
	pf.StringVar(&g.MetricsFile, "metrics-file", "", "write Prometheus text-format metrics to this file (node_exporter textfile collector)")
	for _, f := range commands {
		root.AddCommand(f(g))
	}
	return root
}

func (g *globals) setup() error {
	level := slog.LevelInfo
	if g.Verbose > 0 {
		level = slog.LevelDebug
	}
	o := &slog.HandlerOptions{Level: level}
	switch g.LogFormat {
	case "text":
		g.Log = slog.New(slog.NewTextHandler(g.Stderr, o))
	case "json":
		g.Log = slog.New(obs.NewJSONHandler(g.Stderr, o))
	default:
		return exit.Usagef("--log-format %q: want text or json", g.LogFormat)
	}
	slog.SetDefault(g.Log)
	g.RunID = obs.NewRunID()
	return nil
}

// config loads the config; any problem is a usage error (exit 2).
func (g *globals) config() (*config.Config, error) {
	c, err := config.Load(g.ConfigPath)
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	return c, nil
}

// periods parses --date and narrows days by --hours (giving hours).
func periods(date, hours string) ([]naming.Period, error) {
	ps, err := naming.ParsePeriods(date)
	if err != nil {
		return nil, exit.With(exit.Usage, fmt.Errorf("--date: %w", err))
	}
	if hours == "" {
		return ps, nil
	}
	hs, err := naming.ParseHours(hours)
	if err != nil {
		return nil, exit.With(exit.Usage, fmt.Errorf("--hours: %w", err))
	}
	var out []naming.Period
	for _, p := range ps {
		if p.Hourly {
			return nil, exit.Usagef("--hours narrows days; %s is already an hour", p)
		}
		all := p.Hours()
		for _, h := range hs {
			out = append(out, all[h])
		}
	}
	return out, nil
}

// ifaces resolves --iface against the config.
func ifaces(c *config.Config, list string) ([]*config.Interface, error) {
	is, err := c.Select(list)
	if err != nil {
		return nil, exit.With(exit.Usage, fmt.Errorf("--iface: %w", err))
	}
	return is, nil
}

// periodFlags adds --date, --hours and --iface to a command.
type periodFlags struct{ Date, Hours, Iface string }

func (p *periodFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.Date, "date", "", "period: YYYYMMDD, YYYYMMDDHH, A..B or a comma list (required)")
	cmd.Flags().StringVar(&p.Hours, "hours", "", "narrow days to hours, e.g. 00-05,07")
	cmd.Flags().StringVar(&p.Iface, "iface", "", "interfaces, comma separated (default: all configured)")
}

// resolve returns the config, periods and interfaces the flags name.
func (p *periodFlags) resolve(g *globals) (*config.Config, []naming.Period, []*config.Interface, error) {
	if p.Date == "" {
		return nil, nil, nil, exit.Usagef("--date is required (e.g. --date 20241212)")
	}
	ps, err := periods(p.Date, p.Hours)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := g.config()
	if err != nil {
		return nil, nil, nil, err
	}
	is, err := ifaces(c, p.Iface)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, ps, is, nil
}

func init() {
	register(func(g *globals) *cobra.Command {
		cfg := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
		cfg.AddCommand(&cobra.Command{
			Use:   "validate",
			Short: "Load the config and report every problem with its key path",
			Long: `validate loads the config (--config, else $CHAMA_CONFIG, else ./chama.yaml)
and reports every problem at once, each with its key path, e.g.
  interfaces.51007.lines_per_file: must be at least 1
Unknown keys are errors (with the nearest known key), not silently ignored.
It also checks what can be checked without the network: every secret file
(key, passphrase, password, mobile key, Kerberos keytab) exists and has no
group or other permissions, known_hosts and the IP database exist, each
file source's root is a folder, and each *_env key names a variable rather
than holding the secret (docs/security.md). On success it prints
  config chama.yaml is valid: 3 interfaces (51006, 51007, CM001)

Exit codes: 0 valid; 2 the file is missing or has problems.`,
			Example: `  chama config validate
  chama --config /etc/chama/chama.yaml config validate`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := g.config()
				if err != nil {
					return err
				}
				if err := config.CheckFiles(c); err != nil {
					return exit.With(exit.Usage, fmt.Errorf("config %s: %w", c.Path(), err))
				}
				fmt.Fprintf(g.Stdout, "config %s is valid: %d interfaces (%s)\n", c.Path(), len(c.Interfaces), strings.Join(c.InterfaceNames(), ", "))
				return nil
			},
		})
		return cfg
	})
}

// terminal is stderr when it is a terminal (progress bars are drawn on
// it), else nil (progress is logged every 10 s instead).
func (g *globals) terminal() io.Writer {
	if f, ok := g.Stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return g.Stderr
	}
	return nil
}
