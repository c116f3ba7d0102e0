package notify

import (
	"context"
	"fmt"
	"strings"
)

// Inbox limits (contract §4, GetNotifications).
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ListInbox returns one page of the caller's inbox; limit ≤ 0 means 20 and
// anything above 100 means 100.
func (e *Engine) ListInbox(ctx context.Context, tenantID, userID string, before int64, limit int, unreadOnly bool) (Page, error) {
	limit = ClampLimit(limit)
	p, err := e.cfg.Store.ListNotifications(ctx, Query{TenantID: tenantID, UserID: userID, Before: before, Limit: limit, UnreadOnly: unreadOnly})
	if err != nil {
		return Page{}, fmt.Errorf("notify: list inbox: %w", err)
	}
	return p, nil
}

// MarkRead marks the caller's row read (re-stamping read_at on repeats, as
// upstream does). Another user's or tenant's id, an unknown id and a
// malformed one are all ErrNotFound.
func (e *Engine) MarkRead(ctx context.Context, tenantID, userID, id string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return &ValidationError{"id is required"}
	}
	if _, err := e.cfg.Store.GetNotification(ctx, tenantID, userID, id); err != nil {
		return err
	}
	return e.cfg.Store.UpdateStatus(ctx, tenantID, userID, id, StatusRead, e.nowMs())
}

// MaxTokenBytes bounds a registered push token (a PushSubscription JSON is
// well under 1 KiB; FCM tokens are ~160 bytes).
const MaxTokenBytes = 4096

// RegisterDevice stores the caller's push token for a device type,
// replacing the previous one.
func (e *Engine) RegisterDevice(ctx context.Context, tenantID, userID, deviceType, token string) (Device, error) {
	token = strings.TrimSpace(token)
	switch {
	case deviceType != DeviceBrowser && deviceType != DeviceAndroid && deviceType != DeviceIOS:
		return Device{}, &ValidationError{"device_type must be BROWSER, ANDROID or IOS"}
	case token == "":
		return Device{}, &ValidationError{"token is required"}
	case len(token) > MaxTokenBytes:
		return Device{}, &ValidationError{fmt.Sprintf("token must be at most %d bytes", MaxTokenBytes)}
	}
	now := e.nowMs()
	d, err := e.cfg.Store.UpsertDevice(ctx, Device{TenantID: tenantID, UserID: userID, DeviceType: deviceType, Token: token, CreatedAtMs: now, LastActiveMs: now})
	if err != nil {
		return Device{}, fmt.Errorf("notify: register device: %w", err)
	}
	return d, nil
}
