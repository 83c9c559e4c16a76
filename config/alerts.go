package config

import (
	"fmt"
	"time"
)

// Alerts tunes the operator reports (`chama report volume|deadline`).
// Every field has a default, so the section is optional.
type Alerts struct {
	// VolumeThreshold: an hour under this share of the same hour one day
	// and 28 days earlier raises CHAMA_ALERT (default 0.8).
	VolumeThreshold float64 `yaml:"volume_threshold"`
	// VolumeStage is the stage whose rows are compared (default pack:
	// the rows written into the interface files).
	VolumeStage string `yaml:"volume_stage"`
	// Deadline is the local time of day D+1 by which day D must be
	// delivered (default 09:00).
	Deadline string `yaml:"deadline"`
}

// Defaults of Alerts.
const (
	DefaultVolumeThreshold = 0.8
	DefaultVolumeStage     = "pack"
	DefaultDeadline        = "09:00"
)

// Threshold is VolumeThreshold or its default.
func (a Alerts) Threshold() float64 {
	if a.VolumeThreshold == 0 {
		return DefaultVolumeThreshold
	}
	return a.VolumeThreshold
}

// Stage is VolumeStage or its default.
func (a Alerts) Stage() string {
	if a.VolumeStage == "" {
		return DefaultVolumeStage
	}
	return a.VolumeStage
}

// By is Deadline or its default.
func (a Alerts) By() string {
	if a.Deadline == "" {
		return DefaultDeadline
	}
	return a.Deadline
}

// Check reports the first bad value, with its key path.
func (a Alerts) Check() error {
	if t := a.Threshold(); t <= 0 || t > 1 {
		return fmt.Errorf("alerts.volume_threshold: %v is not a share between 0 and 1 (e.g. 0.8)", a.VolumeThreshold)
	}
	switch a.Stage() {
	case "pull", "transform", "pack", "push", "verify":
	default:
		return fmt.Errorf("alerts.volume_stage: %q is not pull, transform, pack, push or verify", a.VolumeStage)
	}
	if _, err := ParseClock(a.By()); err != nil {
		return fmt.Errorf("alerts.deadline: %v", err)
	}
	return nil
}

// ParseClock reads "HH:MM" as an offset from midnight.
func ParseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
