package main

import (
	"context"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/chama-data/chama/etl/transform"
	"github.com/chama-data/chama/internal/exit"
	"github.com/chama-data/chama/naming"
)

// The tests here parse command lines into each command's options through
// the runF its constructor takes: no config is read and no stage runs.

// parse runs chama with args, its root holding only the command newCmd
// makes, whose runF records the options. got is nil when runF was not
// reached.
func parse[O any](t *testing.T, newCmd func(*Factory, func(context.Context, *O) error) *cobra.Command, args ...string) (f *Factory, got *O, err error) {
	t.Helper()
	f = &Factory{Stdout: io.Discard, Stderr: io.Discard, Version: "test"}
	root := newCmdRootBare(f)
	root.AddCommand(newCmd(f, func(_ context.Context, o *O) error { got = o; return nil }))
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	return f, got, execute(t.Context(), root)
}

// flagCase is a command line and what it must give: the options (check)
// or a usage error with exactly the message err.
type flagCase[O any] struct {
	args  []string
	check func(t *testing.T, f *Factory, o *O)
	err   string
}

func checkFlags[O any](t *testing.T, newCmd func(*Factory, func(context.Context, *O) error) *cobra.Command, cases []flagCase[O]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f, got, err := parse(t, newCmd, tc.args...)
			if tc.err != "" {
				if exit.Code(err) != exit.Usage || err.Error() != tc.err {
					t.Fatalf("exit %d, %v\nwant exit %d, %s", exit.Code(err), err, exit.Usage, tc.err)
				}
				if got != nil {
					t.Error("runF ran despite the usage error")
				}
				return
			}
			if err != nil {
				t.Fatalf("exit %d, %v", exit.Code(err), err)
			}
			if got == nil {
				t.Fatal("runF did not run")
			}
			if reflect.ValueOf(got).Elem().FieldByName("Factory").Interface() != f {
				t.Error("the options do not carry the command's Factory")
			}
			if tc.check != nil {
				tc.check(t, f, got)
			}
		})
	}
}

// eq fails the test when got is not want, naming what.
func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// periodsOf is ps as strings, e.g. ["2024121200", "2024121201"].
func periodsOf(ps []naming.Period) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// periodErrors are the usage errors of the shared period flags, the same
// for every command that takes them (cmd is its name).
func periodErrors[O any](cmd string) []flagCase[O] {
	return []flagCase[O]{
		{args: []string{cmd}, err: "--date is required (e.g. --date 20241212)"},
		{args: []string{cmd, "--date", "20241312"}, err: `--date: bad period "20241312": want YYYYMMDD or YYYYMMDDHH`},
		{args: []string{cmd, "--date", "20241212", "--hours", "99"}, err: `--hours: bad hours "99": want HH or HH-HH between 00 and 23, comma separated`},
		{args: []string{cmd, "--date", "2024121207", "--hours", "01"}, err: "--hours narrows days; 2024121207 is already an hour"},
		{args: []string{cmd, "--date", "20241212", "--bogus"}, err: "unknown flag: --bogus (see 'chama " + cmd + " --help')"},
		{args: []string{cmd, "--date", "20241212", "stray"}, err: `unknown command "stray" for "chama ` + cmd + `" (see 'chama --help')`},
	}
}

func TestPullFlags(t *testing.T) {
	checkFlags(t, NewCmdPull, append(periodErrors[PullOptions]("pull"), []flagCase[PullOptions]{
		{args: []string{"pull", "--date", "20241212"}, check: func(t *testing.T, f *Factory, o *PullOptions) {
			eq(t, "Period", o.Period, PeriodOptions{Date: "20241212", Periods: []naming.Period{naming.MustPeriod("20241212")}})
			eq(t, "Wait", o.Wait, time.Duration(0))
			eq(t, "Poll", o.Poll, time.Minute)
			eq(t, "Concurrency", o.Concurrency, 0)
			eq(t, "JSON", o.JSON, false)
		}},
		{args: []string{"--config", "/etc/chama.yaml", "pull", "--date", "20241212", "--hours", "00-01", "--iface", "51007,CM001",
			"--wait", "30m", "--poll", "10s", "--concurrency", "4", "--json"}, check: func(t *testing.T, f *Factory, o *PullOptions) {
			eq(t, "ConfigPath", f.ConfigPath, "/etc/chama.yaml")
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"2024121200", "2024121201"})
			eq(t, "Iface", o.Period.Iface, "51007,CM001")
			eq(t, "Hours", o.Period.Hours, "00-01")
			eq(t, "Wait", o.Wait, 30*time.Minute)
			eq(t, "Poll", o.Poll, 10*time.Second)
			eq(t, "Concurrency", o.Concurrency, 4)
			eq(t, "JSON", o.JSON, true)
		}},
		{args: []string{"pull", "--date", "20241212", "--wait", "-1s"}, err: "--wait, --poll and --concurrency must not be negative"},
		{args: []string{"pull", "--date", "20241212", "--poll", "-1s"}, err: "--wait, --poll and --concurrency must not be negative"},
		{args: []string{"pull", "--date", "20241212", "--concurrency", "-2"}, err: "--wait, --poll and --concurrency must not be negative"},
		{args: []string{"pull", "--wait", "abc"}, err: `invalid argument "abc" for "--wait" flag: time: invalid duration "abc" (see 'chama pull --help')`},
	}...))
}

func TestTransformFlags(t *testing.T) {
	checkFlags(t, NewCmdTransform, append(periodErrors[TransformOptions]("transform"), []flagCase[TransformOptions]{
		{args: []string{"transform", "--date", "20241212"}, check: func(t *testing.T, f *Factory, o *TransformOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"20241212"})
			eq(t, "Layer", o.Layer, transform.LayerADS)
			eq(t, "Names", o.Names, []string(nil))
			eq(t, "CPUProfile", o.CPUProfile, "")
		}},
		{args: []string{"transform", "--date", "20241212..20241213", "--iface", "51007, CM001,", "--cpuprofile", "cpu.out"}, check: func(t *testing.T, f *Factory, o *TransformOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"20241212", "20241213"})
			eq(t, "Names", o.Names, []string{"51007", "CM001"})
			eq(t, "CPUProfile", o.CPUProfile, "cpu.out")
		}},
		{args: []string{"transform", "--date", "20241212", "--hours", "07", "--layer", "dwd", "--table", "events"}, check: func(t *testing.T, f *Factory, o *TransformOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"2024121207"})
			eq(t, "Layer", o.Layer, transform.LayerDWD)
			eq(t, "Names", o.Names, []string{"events"})
		}},
		{args: []string{"transform", "--date", "20241212", "--layer", "x"}, err: `--layer "x": want dwd or ads`},
		{args: []string{"transform", "--date", "20241212", "--table", "t"}, err: "--table is for --layer dwd; use --iface with --layer ads"},
		{args: []string{"transform", "--date", "20241212", "--layer", "dwd", "--iface", "a"}, err: "--iface is for --layer ads; use --table with --layer dwd"},
		// --layer is checked before --date is parsed, as before.
		{args: []string{"transform", "--date", "20241312", "--layer", "x"}, err: `--layer "x": want dwd or ads`},
	}...))
}

func TestPackFlags(t *testing.T) {
	checkFlags(t, NewCmdPack, append(periodErrors[PackOptions]("pack"), []flagCase[PackOptions]{
		{args: []string{"pack", "--date", "20241212"}, check: func(t *testing.T, f *Factory, o *PackOptions) {
			eq(t, "Period", o.Period, PeriodOptions{Date: "20241212", Periods: []naming.Period{naming.MustPeriod("20241212")}})
			eq(t, "Resend", o.Resend, 0)
			eq(t, "Workers", o.Workers, 0)
			eq(t, "CPUProfile", o.CPUProfile, "")
		}},
		{args: []string{"pack", "--date", "20241212,2024121307", "--iface", "CM001", "--resend", "99", "--workers", "3", "--cpuprofile", "p"}, check: func(t *testing.T, f *Factory, o *PackOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"20241212", "2024121307"})
			eq(t, "Iface", o.Period.Iface, "CM001")
			eq(t, "Resend", o.Resend, 99)
			eq(t, "Workers", o.Workers, 3)
			eq(t, "CPUProfile", o.CPUProfile, "p")
		}},
		{args: []string{"pack", "--date", "20241212", "--resend", "100"}, err: "--resend 100: want 0-99"},
		{args: []string{"pack", "--date", "20241212", "--resend", "-1"}, err: "--resend -1: want 0-99"},
		{args: []string{"pack", "--date", "20241212", "--workers", "-3"}, err: "--workers -3: want 1 or more (0: one per CPU)"},
		// --resend is checked before --date, as before.
		{args: []string{"pack", "--resend", "100"}, err: "--resend 100: want 0-99"},
	}...))
}

func TestPushFlags(t *testing.T) {
	checkFlags(t, NewCmdPush, append(periodErrors[PushOptions]("push"), []flagCase[PushOptions]{
		{args: []string{"push", "--date", "20241212"}, check: func(t *testing.T, f *Factory, o *PushOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"20241212"})
			eq(t, "Resend", o.Resend, -1) // whatever was packed
			eq(t, "Force", o.Force, false)
			eq(t, "JSON", o.JSON, false)
			eq(t, "Partial", o.Partial, false)
		}},
		{args: []string{"push", "--date", "20241212", "--resend", "0"}, check: func(t *testing.T, f *Factory, o *PushOptions) {
			eq(t, "Resend", o.Resend, 0)
		}},
		{args: []string{"push", "--date", "20241212", "--iface", "51007", "--resend", "7", "--force", "--json", "--partial"}, check: func(t *testing.T, f *Factory, o *PushOptions) {
			eq(t, "Iface", o.Period.Iface, "51007")
			eq(t, "Resend", o.Resend, 7)
			eq(t, "Force", o.Force, true)
			eq(t, "JSON", o.JSON, true)
			eq(t, "Partial", o.Partial, true)
		}},
		{args: []string{"push", "--date", "20241212", "--resend", "100"}, err: "--resend 100: want 0-99"},
		{args: []string{"push", "--date", "20241212", "--resend", "-1"}, err: "--resend -1: want 0-99"},
	}...))
}

func TestVerifyFlags(t *testing.T) {
	checkFlags(t, NewCmdVerify, append(periodErrors[VerifyOptions]("verify"), []flagCase[VerifyOptions]{
		{args: []string{"verify", "--date", "20241212"}, check: func(t *testing.T, f *Factory, o *VerifyOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"20241212"})
			eq(t, "flags", [4]bool{o.Remote, o.Deep, o.Full, o.JSON}, [4]bool{})
			eq(t, "Jobs", o.Jobs, 0)
		}},
		{args: []string{"verify", "--date", "20241212", "--remote", "--full", "--json", "--jobs", "8"}, check: func(t *testing.T, f *Factory, o *VerifyOptions) {
			eq(t, "Remote Deep Full JSON", [4]bool{o.Remote, o.Deep, o.Full, o.JSON}, [4]bool{true, false, true, true})
			eq(t, "Jobs", o.Jobs, 8)
		}},
		{args: []string{"verify", "--date", "20241212", "--deep"}, check: func(t *testing.T, f *Factory, o *VerifyOptions) {
			eq(t, "Remote (implied by --deep)", o.Remote, true)
			eq(t, "Deep", o.Deep, true)
		}},
		{args: []string{"verify", "--date", "20241212", "--jobs", "x"}, err: `invalid argument "x" for "--jobs" flag: strconv.ParseInt: parsing "x": invalid syntax (see 'chama verify --help')`},
	}...))
}

func TestRunFlags(t *testing.T) {
	checkFlags(t, NewCmdRun, append(periodErrors[RunOptions]("run"), []flagCase[RunOptions]{
		{args: []string{"run", "--date", "20241212", "--hours", "00-05"}, check: func(t *testing.T, f *Factory, o *RunOptions) {
			eq(t, "Periods", len(o.Period.Periods), 6)
			eq(t, "Resend", o.Resend, 0)
		}},
		{args: []string{"run", "--date", "20241212", "--resend", "1"}, check: func(t *testing.T, f *Factory, o *RunOptions) {
			eq(t, "Resend", o.Resend, 1)
		}},
		{args: []string{"run", "--date", "20241212", "--resend", "-1"}, err: "--resend -1: want 0-99"},
	}...))
}

func TestStatusAndReportFlags(t *testing.T) {
	checkFlags(t, NewCmdStatus, append(periodErrors[StatusOptions]("status"), []flagCase[StatusOptions]{
		{args: []string{"status", "--date", "20241212", "--json", "--by-hour"}, check: func(t *testing.T, f *Factory, o *StatusOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"20241212"})
			eq(t, "JSON ByHour", [2]bool{o.JSON, o.ByHour}, [2]bool{true, true})
		}},
	}...))
	checkFlags(t, NewCmdReportVolume, []flagCase[ReportVolumeOptions]{
		{args: []string{"volume"}, err: "--date is required (e.g. --date 20241212)"},
		{args: []string{"volume", "--date", "20241212"}, check: func(t *testing.T, f *Factory, o *ReportVolumeOptions) {
			eq(t, "ThresholdSet", o.ThresholdSet, false)
			eq(t, "Stage", o.Stage, "")
		}},
		{args: []string{"volume", "--date", "20241212", "--threshold", "0.9", "--stage", "pull", "--json"}, check: func(t *testing.T, f *Factory, o *ReportVolumeOptions) {
			eq(t, "Threshold", o.Threshold, 0.9)
			eq(t, "ThresholdSet", o.ThresholdSet, true)
			eq(t, "Stage", o.Stage, "pull")
			eq(t, "JSON", o.JSON, true)
		}},
	})
	checkFlags(t, NewCmdReportDeadline, []flagCase[ReportDeadlineOptions]{
		{args: []string{"deadline"}, check: func(t *testing.T, f *Factory, o *ReportDeadlineOptions) {
			yesterday := o.Now.AddDate(0, 0, -1).Format("20060102")
			eq(t, "Periods (default: yesterday)", periodsOf(o.Period.Periods), []string{yesterday})
			eq(t, "By", o.By, "")
		}},
		{args: []string{"deadline", "--date", "20241212", "--by", "08:30", "--iface", "51007"}, check: func(t *testing.T, f *Factory, o *ReportDeadlineOptions) {
			eq(t, "Periods", periodsOf(o.Period.Periods), []string{"20241212"})
			eq(t, "By", o.By, "08:30")
			eq(t, "Iface", o.Period.Iface, "51007")
		}},
		{args: []string{"deadline", "--date", "2024"}, err: `--date: bad period "2024": want YYYYMMDD or YYYYMMDDHH`},
	})
}

func TestOtherCommandsFlags(t *testing.T) {
	checkFlags(t, NewCmdClean, []flagCase[CleanOptions]{
		{args: []string{"clean"}, check: func(t *testing.T, f *Factory, o *CleanOptions) {
			eq(t, "Days DryRun", [2]any{o.Days, o.DryRun}, [2]any{0, false})
		}},
		{args: []string{"clean", "--days", "30", "--dry-run"}, check: func(t *testing.T, f *Factory, o *CleanOptions) {
			eq(t, "Days DryRun", [2]any{o.Days, o.DryRun}, [2]any{30, true})
		}},
		{args: []string{"clean", "--days", "0"}, err: "--days 0: keep from 1 to 3650 days (ten years); to never clean, do not schedule chama clean"},
		{args: []string{"clean", "--days", "3651"}, err: "--days 3651: keep from 1 to 3650 days (ten years); to never clean, do not schedule chama clean"},
	})
	checkFlags(t, NewCmdGen, []flagCase[GenOptions]{
		{args: []string{"gen", "--out", "o", "--date", "20241212", "--rows", "10"}, check: func(t *testing.T, f *Factory, o *GenOptions) {
			g := o.Gen
			eq(t, "Dir Date Rows", [3]any{g.Dir, g.Date, g.Rows}, [3]any{"o", "20241212", int64(10)})
			eq(t, "FilesPerHour Level Seed Workers", [4]any{g.FilesPerHour, g.Level, g.Seed, g.Workers}, [4]any{1, 1, int64(1), 0})
			eq(t, "Hours", g.Hours, []int(nil))
			eq(t, "Marker Gzip", [2]bool{g.Marker, g.Gzip}, [2]bool{true, true})
		}},
		{args: []string{"gen", "--out", "o", "--date", "20241212", "--rows", "0", "--hours", "07-08", "--plain", "--no-marker", "--level", "9", "--files-per-hour", "4", "--seed", "5", "--workers", "2"}, check: func(t *testing.T, f *Factory, o *GenOptions) {
			g := o.Gen
			eq(t, "Hours", g.Hours, []int{7, 8})
			eq(t, "Marker Gzip", [2]bool{g.Marker, g.Gzip}, [2]bool{false, false})
			eq(t, "FilesPerHour Level Seed Workers", [4]any{g.FilesPerHour, g.Level, g.Seed, g.Workers}, [4]any{4, 9, int64(5), 2})
		}},
		{args: []string{"gen"}, err: "--out is required"},
		{args: []string{"gen", "--out", "o"}, err: "--date is required (e.g. --date 20241212)"},
		{args: []string{"gen", "--out", "o", "--date", "2024121207"}, err: `--date "2024121207": want one day, YYYYMMDD`},
		{args: []string{"gen", "--out", "o", "--date", "20241212"}, err: "--rows is required (e.g. --rows 2000000)"},
		{args: []string{"gen", "--out", "o", "--date", "20241212", "--rows", "-1"}, err: "--rows -1: want 0 or more"},
		{args: []string{"gen", "--out", "o", "--date", "20241212", "--rows", "1", "--hours", "zz"}, err: `--hours: bad hours "zz": want HH or HH-HH between 00 and 23, comma separated`},
		{args: []string{"gen", "--out", "o", "--date", "20241212", "--rows", "1", "--files-per-hour", "0"}, err: "--files-per-hour 0: want 1 or more"},
	})
	checkFlags(t, NewCmdDemo, []flagCase[DemoOptions]{
		{args: []string{"demo"}, check: func(t *testing.T, f *Factory, o *DemoOptions) {
			d := o.Demo
			eq(t, "Dir Date Rows Seed", [4]any{d.Dir, d.Date, d.Rows, d.Seed}, [4]any{"demo", "20241219", int64(240000), int64(1)})
		}},
		{args: []string{"demo", "--dir", "/tmp/d", "--date", "20241212", "--rows", "5", "--seed", "2"}, check: func(t *testing.T, f *Factory, o *DemoOptions) {
			d := o.Demo
			eq(t, "Dir Date Rows Seed", [4]any{d.Dir, d.Date, d.Rows, d.Seed}, [4]any{"/tmp/d", "20241212", int64(5), int64(2)})
		}},
		{args: []string{"demo", "--date", "2024121207"}, err: `--date "2024121207": want one day, YYYYMMDD`},
		{args: []string{"demo", "--rows", "0"}, err: "--rows 0: want 1 or more"},
	})
	checkFlags(t, NewCmdAirflowDag, []flagCase[AirflowDagOptions]{
		{args: []string{"airflow-dag"}, check: func(t *testing.T, f *Factory, o *AirflowDagOptions) {
			a := o.Airflow
			eq(t, "Out Iface", [2]string{o.Out, o.Iface}, [2]string{"", ""})
			eq(t, "Binary ConfigPath DagID Schedule StartDate", [5]string{a.Binary, a.ConfigPath, a.DagID, a.Schedule, a.StartDate},
				[5]string{"chama", "", "chama", "30 0 * * *", "2024-12-01"})
			eq(t, "Retries RetryMinutes", [2]int{a.Retries, a.RetryMinutes}, [2]int{6, 10})
		}},
		{args: []string{"airflow-dag", "--out", "d.py", "--iface", "51007", "--binary", "/bin/chama", "--config-path", "/etc/c.yaml", "--dag-id", "x",
			"--schedule", "0 1 * * *", "--start-date", "2025-01-01", "--retries", "2", "--retry-minutes", "3"}, check: func(t *testing.T, f *Factory, o *AirflowDagOptions) {
			a := o.Airflow
			eq(t, "Out Iface", [2]string{o.Out, o.Iface}, [2]string{"d.py", "51007"})
			eq(t, "Binary ConfigPath DagID Schedule StartDate", [5]string{a.Binary, a.ConfigPath, a.DagID, a.Schedule, a.StartDate},
				[5]string{"/bin/chama", "/etc/c.yaml", "x", "0 1 * * *", "2025-01-01"})
			eq(t, "Retries RetryMinutes", [2]int{a.Retries, a.RetryMinutes}, [2]int{2, 3})
		}},
	})
	checkFlags(t, NewCmdConfigValidate, []flagCase[ConfigValidateOptions]{
		{args: []string{"validate"}},
		{args: []string{"validate", "x"}, err: `unknown command "x" for "chama validate" (see 'chama --help')`},
	})
}

// TestGlobalFlags: the root's flags land in the Factory the commands
// share, and Setup makes the logger and run id before runF runs.
func TestGlobalFlags(t *testing.T) {
	t.Setenv("CHAMA_CONFIG", "")
	f, o, err := parse(t, NewCmdStatus, "status", "--date", "20241212")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "ConfigPath (default)", f.ConfigPath, "chama.yaml")
	eq(t, "LogFormat (default)", f.LogFormat, "text")
	eq(t, "Verbose MetricsFile (default)", [2]any{f.Verbose, f.MetricsFile}, [2]any{0, ""})
	if f.Log == nil || f.RunID == "" || o.Factory.Log != f.Log {
		t.Errorf("Setup did not run before the command: Log %v, RunID %q", f.Log, f.RunID)
	}

	t.Setenv("CHAMA_CONFIG", "/etc/chama/env.yaml")
	f, _, err = parse(t, NewCmdStatus, "-vv", "--log-format", "json", "--metrics-file", "m.prom", "status", "--date", "20241212")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "ConfigPath ($CHAMA_CONFIG)", f.ConfigPath, "/etc/chama/env.yaml")
	eq(t, "LogFormat Verbose MetricsFile", [3]any{f.LogFormat, f.Verbose, f.MetricsFile}, [3]any{"json", 2, "m.prom"})

	_, o, err = parse(t, NewCmdStatus, "--log-format", "xml", "status", "--date", "20241212")
	if exit.Code(err) != exit.Usage || err.Error() != `--log-format "xml": want text or json` || o != nil {
		t.Errorf("--log-format xml: exit %d, %v", exit.Code(err), err)
	}
}

// TestFlagErrorsFromTheConfig: the errors that need the config (an
// unknown --iface, report volume's --threshold and --stage) come from the
// real run function, before any stage runs.
func TestFlagErrorsFromTheConfig(t *testing.T) {
	cfg := writeMinimalConfig(t)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"pull", "--date", "20241212", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
		{[]string{"pack", "--date", "20241212", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
		{[]string{"push", "--date", "20241212", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
		{[]string{"verify", "--date", "20241212", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
		{[]string{"run", "--date", "20241212", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
		{[]string{"status", "--date", "20241212", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
		{[]string{"airflow-dag", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
		{[]string{"transform", "--date", "20241212"}, "config " + cfg + " has no transform section"},
		{[]string{"report", "volume", "--date", "20241212", "--threshold", "2"}, "--threshold 2: want a share between 0 and 1, e.g. 0.8"},
		{[]string{"report", "volume", "--date", "20241212", "--stage", "bogus"}, `--stage "bogus": want one of pull, transform, pack, push, verify`},
		{[]string{"report", "deadline", "--iface", "nope"}, `--iface: unknown interface "nope" (configured: 51007)`},
	} {
		root := NewCmdRoot(&Factory{Stdout: io.Discard, Stderr: io.Discard})
		root.SetArgs(append([]string{"--config", cfg}, tc.args...))
		err := execute(t.Context(), root)
		if exit.Code(err) != exit.Usage || err.Error() != tc.err {
			t.Errorf("chama %v: exit %d, %v\nwant exit 2, %s", tc.args, exit.Code(err), err, tc.err)
		}
	}
}

// TestPeriodFlagsAreShared: every command with --date, --hours and --iface
// takes them from addPeriodFlags (transform and report deadline only
// reword one usage line).
func TestPeriodFlagsAreShared(t *testing.T) {
	ref := &cobra.Command{}
	addPeriodFlags(ref, &PeriodOptions{})
	reworded := map[string]bool{"chama transform --iface": true, "chama report deadline --date": true}
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.LocalFlags().Lookup("hours") != nil && c.Name() != "gen" {
			n++
			for _, name := range []string{"date", "hours", "iface"} {
				got, want := c.LocalFlags().Lookup(name), ref.Flags().Lookup(name)
				if got == nil {
					t.Errorf("%s has --hours but no --%s", c.CommandPath(), name)
					continue
				}
				if got.Value.Type() != want.Value.Type() || got.DefValue != want.DefValue {
					t.Errorf("%s --%s: %s %q, want %s %q", c.CommandPath(), name, got.Value.Type(), got.DefValue, want.Value.Type(), want.DefValue)
				}
				if got.Usage != want.Usage && !reworded[c.CommandPath()+" --"+name] {
					t.Errorf("%s --%s: usage %q, want the shared %q", c.CommandPath(), name, got.Usage, want.Usage)
				}
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot())
	if n != 9 { // pull transform pack push verify run status, report volume and deadline
		t.Errorf("%d commands take the period flags, want 9", n)
	}
}

// TestRootHasEveryCommand: NewCmdRoot adds each command once.
func TestRootHasEveryCommand(t *testing.T) {
	var got []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			got = append(got, strings.TrimPrefix(s.CommandPath(), "chama "))
			walk(s)
		}
	}
	walk(newRoot())
	want := []string{"airflow-dag", "clean", "config", "config validate", "demo", "gen", "pack", "pull", "push",
		"report", "report deadline", "report volume", "run", "status", "transform", "verify"}
	slices.Sort(got)
	eq(t, "commands", got, want)
}
