package obs

import (
	"context"
	"io"
	"log/slog"
	"slices"

	"github.com/chama-data/chama/internal/logkey"
)

// NewJSONHandler is slog's JSON handler with the fixed keys always
// present, in logkey.Fixed order after time, level and msg, null when a line
// has no value for one. root.go uses it for --log-format json.
func NewJSONHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	return &fixedHandler{inner: slog.NewJSONHandler(w, opts)}
}

type fixedHandler struct {
	inner   slog.Handler
	attrs   []slog.Attr
	grouped bool // the fixed keys were already placed, before a group
}

func (h *fixedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *fixedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if h.grouped {
		return &fixedHandler{inner: h.inner.WithAttrs(as), grouped: true}
	}
	return &fixedHandler{inner: h.inner, attrs: append(slices.Clip(h.attrs), as...)}
}

// WithGroup nests what follows; the fixed keys stay at the top level
// with the attributes given so far.
func (h *fixedHandler) WithGroup(name string) slog.Handler {
	if h.grouped {
		return &fixedHandler{inner: h.inner.WithGroup(name), grouped: true}
	}
	return &fixedHandler{inner: h.inner.WithAttrs(h.fixed(nil)).WithGroup(name), grouped: true}
}

func isFixed(k string) bool { return slices.Contains(logkey.Fixed, k) }

// fixed merges h.attrs and extra into the fixed keys first (later values
// win), then the other attributes in order.
func (h *fixedHandler) fixed(extra []slog.Attr) []slog.Attr {
	vals := map[string]slog.Value{}
	var others []slog.Attr
	for _, a := range append(slices.Clip(h.attrs), extra...) {
		if a.Equal(slog.Attr{}) {
			continue
		}
		if isFixed(a.Key) {
			vals[a.Key] = a.Value
			continue
		}
		others = append(others, a)
	}
	out := make([]slog.Attr, 0, len(logkey.Fixed)+len(others))
	for _, k := range logkey.Fixed {
		v, ok := vals[k]
		if !ok {
			out = append(out, slog.Any(k, nil))
			continue
		}
		out = append(out, slog.Attr{Key: k, Value: v})
	}
	return append(out, others...)
}

func (h *fixedHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.grouped {
		return h.inner.Handle(ctx, r)
	}
	var extra []slog.Attr
	r.Attrs(func(a slog.Attr) bool { extra = append(extra, a); return true })
	nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	nr.AddAttrs(h.fixed(extra)...)
	return h.inner.Handle(ctx, nr)
}
