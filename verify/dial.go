package verify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/chama-data/chama/config"
	"github.com/chama-data/chama/internal/delivery"
	"github.com/chama-data/chama/internal/logkey"
	"github.com/chama-data/chama/internal/workdir"
	"github.com/chama-data/chama/transfer/sshconn"
)

// SSHDialer opens a target over SFTP with push's auth and host-key rules
// and deadlines: the endpoint asked for, else (or when it is not one of the
// target's endpoints any more) its primaries then its standbys in order.
func SSHDialer(c *config.Config, log *slog.Logger) Dialer {
	return func(ctx context.Context, name string, t *config.Target, host string) (RemoteFS, string, func() error, error) {
		eps := append(append([]config.Endpoint{}, t.Primary...), t.Standby...)
		if host != "" {
			for _, ep := range eps {
				if ep.Addr() == host {
					eps = []config.Endpoint{ep}
					break
				}
			}
			if len(eps) != 1 || eps[0].Addr() != host {
				log.Warn("the delivery record names a host the target no longer lists; checking the target's first host that answers", "target", name, logkey.Host, host)
			}
		}
		var errs []string
		for _, ep := range eps {
			tfs, err := sshconn.OpenTargetFS(ctx, c, name, ep, log)
			if err != nil {
				msg := err.Error()
				if !strings.Contains(msg, ep.Addr()) {
					msg = ep.Addr() + ": " + msg
				}
				errs = append(errs, msg)
				continue
			}
			return tfs, ep.Addr(), tfs.Close, nil
		}
		return nil, "", nil, fmt.Errorf("target %s: no endpoint reachable: %s", name, strings.Join(errs, "; "))
	}
}

// RecordHolders reads push's delivery records: for a target whose hosts
// keep storage of their own, which host holds which set's .verf, so verify
// checks each set where it was published.
func RecordHolders(c *config.Config) Holders {
	return func(iface, period, target string) map[string][]string {
		if t := c.Targets[target]; t == nil || t.SharedStorage {
			return nil // any host sees every file
		}
		d, err := delivery.Read(workdir.New(c.Workdir).Out(iface, period), target)
		if err != nil || d == nil {
			return nil
		}
		out := map[string][]string{}
		for _, f := range d.Files {
			if f.Verf {
				for _, h := range f.Hosts {
					out[h] = append(out[h], f.Name)
				}
			}
		}
		return out
	}
}
