package realtime_test

import (
	"testing"

	"github.com/quikapp/quikapp/internal/realtime"
	"github.com/quikapp/quikapp/internal/realtime/historytest"
)

func TestMemoryHistory(t *testing.T) {
	historytest.Run(t, func(t *testing.T, cfg realtime.HistoryConfig) realtime.History {
		return realtime.NewMemoryHistory(cfg)
	})
}
