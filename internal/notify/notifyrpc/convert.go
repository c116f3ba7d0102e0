// Package notifyrpc serves the notify wire API (contract §1–§5) over
// Connect, gRPC and gRPC-Web: the client service (inbox, live stream, push
// tokens) and the internal service (Notify) on top of notify.Engine.
package notifyrpc

import (
	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/internal/notify"
)

var channelByEnum = map[pb.DeliveryChannel]string{
	pb.DeliveryChannel_DELIVERY_CHANNEL_IN_APP:      notify.ChannelInApp,
	pb.DeliveryChannel_DELIVERY_CHANNEL_EMAIL:       notify.ChannelEmail,
	pb.DeliveryChannel_DELIVERY_CHANNEL_WEB_PUSH:    notify.ChannelWebPush,
	pb.DeliveryChannel_DELIVERY_CHANNEL_MOBILE_PUSH: notify.ChannelMobilePush,
	pb.DeliveryChannel_DELIVERY_CHANNEL_SMS:         notify.ChannelSMS,
	pb.DeliveryChannel_DELIVERY_CHANNEL_WHATSAPP:    notify.ChannelWhatsApp,
}

var enumByChannel = invert(channelByEnum)

var statusByName = map[string]pb.DeliveryStatus{
	notify.StatusPending:   pb.DeliveryStatus_DELIVERY_STATUS_PENDING,
	notify.StatusDelivered: pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
	notify.StatusAcked:     pb.DeliveryStatus_DELIVERY_STATUS_ACKED,
	notify.StatusRead:      pb.DeliveryStatus_DELIVERY_STATUS_READ,
	notify.StatusFailed:    pb.DeliveryStatus_DELIVERY_STATUS_FAILED,
}

var deviceByEnum = map[pb.DeviceType]string{
	pb.DeviceType_DEVICE_TYPE_BROWSER: notify.DeviceBrowser,
	pb.DeviceType_DEVICE_TYPE_ANDROID: notify.DeviceAndroid,
	pb.DeviceType_DEVICE_TYPE_IOS:     notify.DeviceIOS,
}

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// toProto renders an inbox row; unknown channel or status names (none are
// written) become UNSPECIFIED.
func toProto(n notify.Notification) *pb.Notification {
	return &pb.Notification{
		Id:             n.ID,
		NotificationId: n.NotificationID,
		SubjectRef:     n.SubjectRef,
		SubjectType:    n.SubjectType,
		Title:          n.Title,
		Body:           n.Body,
		Channel:        enumByChannel[n.Channel],
		Status:         statusByName[n.Status],
		CreatedAtMs:    n.CreatedAtMs,
		DeliveredAtMs:  n.DeliveredAtMs,
		AckAtMs:        n.AckAtMs,
		ReadAtMs:       n.ReadAtMs,
	}
}

// eventToProto stamps a live event with its session's id.
func eventToProto(sessionID string, ev notify.Event) *pb.StreamEvent {
	out := &pb.StreamEvent{SessionId: sessionID}
	switch ev.Kind {
	case notify.EventNotification:
		out.Event = &pb.StreamEvent_Notification{Notification: &pb.NotificationEvent{Notification: toProto(ev.Notification)}}
	case notify.EventDataChange:
		out.Event = &pb.StreamEvent_DataChange{DataChange: &pb.DataChangeEvent{
			IdempotencyKey: ev.DataChange.IdempotencyKey,
			SubjectRef:     ev.DataChange.SubjectRef,
			SubjectType:    ev.DataChange.SubjectType,
		}}
	default:
		out.Event = &pb.StreamEvent_Heartbeat{Heartbeat: &pb.HeartbeatEvent{TimestampMs: ev.TimestampMs}}
	}
	return out
}

// requestFromProto maps a NotifyRequest to the engine's request, dropping
// unspecified and unknown channels and unknown address keys.
func requestFromProto(in *pb.NotifyRequest) notify.Request {
	req := notify.Request{
		TenantID:       in.GetTenantId(),
		NotificationID: in.GetNotificationId(),
		UserIDs:        in.GetUserIds(),
		SubjectRef:     in.GetSubjectRef(),
		SubjectType:    in.GetSubjectType(),
		Title:          in.GetTitle(),
		Body:           in.GetBody(),
	}
	for _, c := range in.GetChannels() {
		if name, ok := channelByEnum[c]; ok {
			req.Channels = append(req.Channels, name)
		}
	}
	if len(in.GetAddresses()) > 0 {
		req.Addresses = make(map[string]map[string]string, len(in.GetAddresses()))
		for user, a := range in.GetAddresses() {
			by := map[string]string{}
			for ch, dest := range a.GetByChannel() {
				if _, known := enumByChannel[ch]; known {
					by[ch] = dest
				}
			}
			req.Addresses[user] = by
		}
	}
	return req
}
