package realtime

import "time"

// PeerState is one node's part of a user's presence: how many
// connections the user has there and the status they last chose (with
// when, so the newest choice wins on every node).
type PeerState struct {
	TenantID string `json:"t,omitempty"`
	UserID   string `json:"u"`
	Conns    int    `json:"n"`
	Choice   string `json:"c"`
	ChoiceAt int64  `json:"ca"` // unix milliseconds; 0: never chosen
}

// peerConns is another node's connection count for a user, believed
// until a heartbeat is overdue (the node may be gone).
type peerConns struct {
	n     int
	until time.Time
}

func remoteConns(u *userPresence, now time.Time) int {
	n := 0
	for _, pc := range u.remote {
		if now.Before(pc.until) {
			n += pc.n
		}
	}
	return n
}

// expirePeers forgets nodes that stopped reporting the user; if that
// leaves the user with no connection anywhere, the offline grace starts
// now, as if their last connection had just closed.
func expirePeers(u *userPresence, now time.Time) {
	dropped := false
	for node, pc := range u.remote {
		if !now.Before(pc.until) {
			delete(u.remote, node)
			dropped = true
		}
	}
	if dropped && u.conns == 0 && remoteConns(u, now) == 0 {
		u.lingering = now
	}
}

// Peer applies another node's report about a user, believed for ttl
// (the reporting node repeats it before then while it holds).
func (p *Presence) Peer(node string, st PeerState, ttl time.Duration) {
	if st.UserID == "" || node == "" {
		return
	}
	switch st.Choice {
	case ChoiceAuto, ChoiceAway, ChoiceDND, ChoiceInvisible:
	default:
		return // not a state any node sends
	}
	p.change(st.TenantID, st.UserID, false, func(u *userPresence, now time.Time) {
		had := u.conns + remoteConns(u, now)
		if st.Conns > 0 {
			if u.remote == nil {
				u.remote = map[string]peerConns{}
			}
			u.remote[node] = peerConns{n: st.Conns, until: now.Add(ttl)}
		} else {
			delete(u.remote, node)
		}
		if had > 0 && u.conns+remoteConns(u, now) == 0 {
			u.lingering = now
		}
		if at := time.UnixMilli(st.ChoiceAt); st.ChoiceAt > 0 && at.After(u.choiceAt) {
			u.choice, u.choiceAt = st.Choice, at
		}
	})
}

// Local lists this node's part of every user it holds connections or a
// choice for: what a heartbeat to the other nodes carries.
func (p *Presence) Local() []PeerState {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]PeerState, 0, len(p.users))
	for k, u := range p.users {
		if u.conns == 0 && u.choiceAt.IsZero() {
			continue
		}
		out = append(out, PeerState{TenantID: k.tenant, UserID: k.user, Conns: u.conns, Choice: u.choice, ChoiceAt: millis(u.choiceAt)})
	}
	return out
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
