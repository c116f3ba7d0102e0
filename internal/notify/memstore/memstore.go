// Package memstore is the in-memory notify.Store, the default driver (as
// upstream's): nothing survives a restart and nothing is written to disk.
//
// Rows are indexed per (tenant, user) inbox, kept sorted by (created_at_ms
// desc, id desc), so a page costs O(log n + page) in the user's inbox and
// never touches other users or tenants. Every value crosses the API by
// copy, so callers cannot mutate stored rows.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/notify"
)

type userKey struct{ tenant, user string }

type rowKey struct{ tenant, user, notificationID string }

// inbox is one user's rows, newest first.
type inbox struct {
	rows   []*notify.Notification // sorted by (CreatedAtMs desc, ID desc)
	unread int                    // rows whose status is not read
}

// Store is the in-memory notify.Store. The zero value is not usable; call New.
type Store struct {
	mu         sync.RWMutex
	byID       map[string]*notify.Notification
	byKey      map[rowKey]string
	inboxes    map[userKey]*inbox
	devices    map[userKey][]notify.Device // sorted by DeviceType
	deliveries map[rowKey][]notify.Delivery
}

var _ notify.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		byID:       map[string]*notify.Notification{},
		byKey:      map[rowKey]string{},
		inboxes:    map[userKey]*inbox{},
		devices:    map[userKey][]notify.Device{},
		deliveries: map[rowKey][]notify.Delivery{},
	}
}

// newer orders a before b when a comes first in an inbox page.
func newer(a, b *notify.Notification) int {
	if c := cmp.Compare(b.CreatedAtMs, a.CreatedAtMs); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// CreateNotification inserts n unless its key exists.
func (s *Store) CreateNotification(_ context.Context, n notify.Notification) (string, bool, error) {
	if !notify.KnownStatus(n.Status) {
		return "", false, fmt.Errorf("notify store: create: unknown status %q", n.Status)
	}
	key := rowKey{n.TenantID, n.UserID, n.NotificationID}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byKey[key]; ok {
		return id, false, nil
	}
	row := n // a private copy
	row.ID = uuid.NewString()
	s.byID[row.ID] = &row
	s.byKey[key] = row.ID
	uk := userKey{n.TenantID, n.UserID}
	box := s.inboxes[uk]
	if box == nil {
		box = &inbox{}
		s.inboxes[uk] = box
	}
	i, _ := slices.BinarySearchFunc(box.rows, &row, newer)
	box.rows = slices.Insert(box.rows, i, &row)
	if row.Status != notify.StatusRead {
		box.unread++
	}
	return row.ID, true, nil
}

// lookup returns the caller's row, or nil. The caller holds s.mu.
func (s *Store) lookup(tenantID, userID, id string) *notify.Notification {
	id, ok := notify.CanonicalID(id)
	if !ok {
		return nil
	}
	row := s.byID[id]
	if row == nil || row.TenantID != tenantID || row.UserID != userID {
		return nil
	}
	return row
}

// GetNotification returns the caller's row or notify.ErrNotFound.
func (s *Store) GetNotification(_ context.Context, tenantID, userID, id string) (notify.Notification, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	row := s.lookup(tenantID, userID, id)
	if row == nil {
		return notify.Notification{}, fmt.Errorf("notify store: get: %w", notify.ErrNotFound)
	}
	return *row, nil
}

// UpdateStatus sets the status and stamps the matching timestamp.
func (s *Store) UpdateStatus(_ context.Context, tenantID, userID, id, status string, atMs int64) error {
	if !notify.KnownStatus(status) {
		return fmt.Errorf("notify store: update status: unknown status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	row := s.lookup(tenantID, userID, id)
	if row == nil {
		return fmt.Errorf("notify store: update status: %w", notify.ErrNotFound)
	}
	wasRead := row.Status == notify.StatusRead
	row.Status = status
	switch status {
	case notify.StatusDelivered:
		row.DeliveredAtMs = atMs
	case notify.StatusAcked:
		row.AckAtMs = atMs
	case notify.StatusRead:
		row.ReadAtMs = atMs
	}
	if isRead := status == notify.StatusRead; isRead != wasRead {
		box := s.inboxes[userKey{tenantID, userID}]
		if isRead {
			box.unread--
		} else {
			box.unread++
		}
	}
	return nil
}

// ListNotifications returns one page of the user's inbox.
func (s *Store) ListNotifications(_ context.Context, q notify.Query) (notify.Page, error) {
	limit := notify.ClampLimit(q.Limit)
	s.mu.RLock()
	defer s.mu.RUnlock()
	page := notify.Page{Items: []notify.Notification{}}
	box := s.inboxes[userKey{q.TenantID, q.UserID}]
	if box == nil {
		return page, nil
	}
	page.Unread = box.unread
	start := 0
	if q.Before != 0 {
		// The first row older than the cursor.
		start, _ = slices.BinarySearchFunc(box.rows, q.Before, func(r *notify.Notification, before int64) int {
			if r.CreatedAtMs >= before {
				return -1
			}
			return 1
		})
	}
	for _, r := range box.rows[start:] {
		if q.UnreadOnly && r.Status == notify.StatusRead {
			continue
		}
		if len(page.Items) == limit {
			page.NextBefore = page.Items[limit-1].CreatedAtMs
			break
		}
		page.Items = append(page.Items, *r)
	}
	return page, nil
}

// UpsertDevice inserts d or replaces the token and last-active time of the
// existing (tenant, user, device type). A zero CreatedAtMs on insert takes
// LastActiveMs.
func (s *Store) UpsertDevice(_ context.Context, d notify.Device) (notify.Device, error) {
	uk := userKey{d.TenantID, d.UserID}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.devices[uk]
	i, found := slices.BinarySearchFunc(list, d.DeviceType, func(e notify.Device, t string) int {
		return strings.Compare(e.DeviceType, t)
	})
	if found {
		list[i].Token = d.Token
		list[i].LastActiveMs = d.LastActiveMs
		return list[i], nil
	}
	dev := d
	dev.ID = uuid.NewString()
	if dev.CreatedAtMs == 0 {
		dev.CreatedAtMs = dev.LastActiveMs
	}
	s.devices[uk] = slices.Insert(list, i, dev)
	return dev, nil
}

// ListDevices returns the user's devices ordered by device type.
func (s *Store) ListDevices(_ context.Context, tenantID, userID string) ([]notify.Device, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]notify.Device{}, s.devices[userKey{tenantID, userID}]...), nil
}

// DeleteDevice removes the device of deviceType if it still holds token.
func (s *Store) DeleteDevice(_ context.Context, tenantID, userID, deviceType, token string) error {
	uk := userKey{tenantID, userID}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devices[uk] = slices.DeleteFunc(s.devices[uk], func(d notify.Device) bool {
		return d.DeviceType == deviceType && d.Token == token
	})
	if len(s.devices[uk]) == 0 {
		delete(s.devices, uk)
	}
	return nil
}

// RecordDelivery appends one attempt to the delivery log.
func (s *Store) RecordDelivery(_ context.Context, d notify.Delivery) error {
	k := rowKey{d.TenantID, d.UserID, d.NotificationID}
	s.mu.Lock()
	defer s.mu.Unlock()
	log := s.deliveries[k]
	// Keep the log sorted by AtMs, in recording order among equals.
	i := len(log)
	for i > 0 && log[i-1].AtMs > d.AtMs {
		i--
	}
	s.deliveries[k] = slices.Insert(log, i, d)
	return nil
}

// ListDeliveries returns a row's delivery log, oldest first.
func (s *Store) ListDeliveries(_ context.Context, tenantID, userID, notificationID string) ([]notify.Delivery, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]notify.Delivery{}, s.deliveries[rowKey{tenantID, userID, notificationID}]...), nil
}

// Ping always succeeds.
func (s *Store) Ping(context.Context) error { return nil }

// Close does nothing; the data lives as long as the Store.
func (s *Store) Close() error { return nil }
