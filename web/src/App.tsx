import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { api, ApiError, blobURL, refresh, upload } from "./api";
import { highlightText, Markdown, type MdContext } from "./markdown";
import { Realtime, type ConnState, type Frame } from "./realtime";

// ---------- types (the API's JSON) ----------
interface User {
  id: string;
  email: string;
  displayName: string;
  systemAdmin?: boolean;
  title?: string;
}
interface Workspace {
  id: string;
  slug: string;
  name: string;
  role: string;
}
interface SidebarItem {
  channelId: string;
  name: string;
  type: string;
  unreadCount: number;
  mentionCount: number;
  muted: boolean;
  starred: boolean;
}
interface Channel {
  id: string;
  name: string;
  type: string;
  topic: string;
  purpose: string;
  isMember: boolean;
  memberCount: number;
  archived: boolean;
}
interface Reaction {
  emoji: string;
  count: number;
  users: string[];
}
interface FileInfo {
  id: string;
  name?: string;
  filename?: string;
  contentType?: string;
  mimeType?: string;
  size?: number;
}
interface Message {
  id: string;
  channelId: string;
  seq: number;
  authorId: string;
  text: string;
  threadId?: string;
  replyCount: number;
  lastReplyAt?: string;
  createdAt: string;
  editedAt?: string;
  deleted: boolean;
  reactions: Reaction[] | null;
  files: FileInfo[] | null;
}
interface Member {
  userId: string;
  displayName: string;
  role: string;
}

type Theme = "light" | "dark" | "system";
type Pane =
  | { kind: "thread"; root: Message; highlight?: string }
  | { kind: "details" }
  | { kind: "search"; q: string }
  | { kind: "notifications" }
  | { kind: "profile" }
  | { kind: "admin" }
  | null;

const QUICK_EMOJI = ["👍", "🎉", "❤️", "😄", "👀", "✅"];
const EMOJI_CODES: Record<string, string> = {
  thumbsup: "👍", tada: "🎉", heart: "❤️", smile: "😄", eyes: "👀", white_check_mark: "✅",
  rocket: "🚀", fire: "🔥", wave: "👋", joy: "😂", thinking: "🤔", pray: "🙏", clap: "👏", ok_hand: "👌",
};

function errText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

function newId() {
  return crypto.randomUUID();
}

function initials(name: string) {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => Array.from(w)[0]?.toUpperCase() ?? "")
    .join("");
}

function hue(s: string) {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return (h >>> 0) % 360;
}

function Avatar({ name, id, size = 36 }: { name: string; id: string; size?: number }) {
  return (
    <span className="avatar" aria-hidden="true" style={{ width: size, height: size, ["--h" as any]: hue(id) }}>
      {initials(name) || "?"}
    </span>
  );
}

// PresenceDot shows how someone is: filled green online, hollow when away
// or offline, red for do-not-disturb; unknown reads as offline.
function PresenceDot({ status }: { status?: string }) {
  const st = status ?? "offline";
  const label = st === "dnd" ? "do not disturb" : st;
  return <span className={`presence-dot ${st}`} role="img" aria-label={label} title={label} />;
}

function dayLabel(iso: string) {
  const d = new Date(iso);
  const today = new Date();
  const y = new Date();
  y.setDate(today.getDate() - 1);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === y.toDateString()) return "Yesterday";
  return d.toLocaleDateString(undefined, { weekday: "long", month: "long", day: "numeric" });
}
function timeLabel(iso: string) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "numeric", minute: "2-digit" });
}

// ---------- theme ----------
function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem("quikapp.theme") as Theme) || "system");
  useEffect(() => {
    const apply = () => {
      const dark = theme === "dark" || (theme === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
      document.documentElement.dataset.theme = dark ? "dark" : "light";
    };
    apply();
    localStorage.setItem("quikapp.theme", theme);
    const mq = matchMedia("(prefers-color-scheme: dark)");
    mq.addEventListener("change", apply);
    return () => mq.removeEventListener("change", apply);
  }, [theme]);
  return [theme, setTheme];
}

// ---------- app ----------
export function App() {
  const [me, setMe] = useState<User | null>(null);
  const [checked, setChecked] = useState(false);
  const [theme, setTheme] = useTheme();
  // a cookie session survives reloads: ask who we are
  useEffect(() => {
    api
      .get("/users/me")
      .catch(async () => ((await refresh()) ? api.get("/users/me") : null))
      .then((u) => u && setMe(u), () => {})
      .finally(() => setChecked(true));
  }, []);
  if (!checked) return <div className="loading" role="status">Loading…</div>;
  if (!me) return <AuthScreen onSignedIn={setMe} />;
  return <Main me={me} setMe={setMe} theme={theme} setTheme={setTheme} onSignOut={() => setMe(null)} />;
}

function Field(props: { label: string; type?: string; value: string; onChange: (v: string) => void; autoComplete?: string; minLength?: number; name: string }) {
  return (
    <label className="field">
      <span>{props.label}</span>
      <input
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        required
        minLength={props.minLength}
        autoComplete={props.autoComplete}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}

function AuthScreen({ onSignedIn }: { onSignedIn: (u: User) => void }) {
  const linkToken = new URLSearchParams(location.search).get("token") ?? "";
  const [mode, setMode] = useState<"signin" | "signup" | "2fa" | "reset" | "newpw">(location.pathname === "/reset-password" && linkToken ? "newpw" : "signin");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [code, setCode] = useState("");
  const [interim, setInterim] = useState("");
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState(false);
  // links from account email: /verify-email?token=… confirms the address
  useEffect(() => {
    if (location.pathname !== "/verify-email" || !linkToken) return;
    history.replaceState(null, "", "/");
    api.post("/auth/verify-email/confirm", { token: linkToken }).then(
      () => setNotice("Your email address is confirmed. Sign in to continue."),
      (e) => setError(errText(e)),
    );
  }, [linkToken]);

  const finish = (t: any) => onSignedIn(t.user);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      if (mode === "signup") {
        if (password.length < 12) throw new Error("The password needs at least 12 characters.");
        await api.post("/auth/register", { email, password, displayName: name.trim() });
      }
      if (mode === "reset") {
        await api.post("/auth/password-reset/request", { email });
        setNotice("If that address has an account, a reset link is on its way.");
        setMode("signin");
        return;
      }
      if (mode === "newpw") {
        if (password.length < 12) throw new Error("The password needs at least 12 characters.");
        await api.post("/auth/password-reset/confirm", { token: linkToken, password });
        history.replaceState(null, "", "/");
        setPassword("");
        setNotice("Your password is changed. Sign in with the new one.");
        setMode("signin");
        return;
      }
      if (mode === "2fa") {
        finish(await api.post("/auth/2fa/verify", { interimToken: interim, code: code.trim() }));
        return;
      }
      try {
        finish(await api.post("/auth/login", { email, password }));
      } catch (err) {
        if (err instanceof ApiError && err.code === "TWO_FACTOR_REQUIRED") {
          setInterim(err.body?.interimToken ?? "");
          setMode("2fa");
          return;
        }
        throw err;
      }
    } catch (err) {
      setError(errText(err));
    } finally {
      setBusy(false);
    }
  };

  const title = { signin: "Sign in to QuikApp", signup: "Create your account", "2fa": "Two-factor authentication", reset: "Reset your password", newpw: "Choose a new password" }[mode];
  return (
    <div className="auth">
      <form className="auth-card" onSubmit={submit} aria-label={title}>
        <div className="brand">
          <span className="logo" aria-hidden="true">Q</span> QuikApp
        </div>
        <h1>{title}</h1>
        {notice && <p className="notice" role="status">{notice}</p>}
        {mode === "signup" && <Field name="displayName" label="Display name" value={name} onChange={setName} autoComplete="name" />}
        {mode === "newpw" && <Field name="password" label="New password (at least 12 characters)" type="password" value={password} onChange={setPassword} minLength={12} autoComplete="new-password" />}
        {mode !== "2fa" && mode !== "newpw" && <Field name="email" label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" />}
        {(mode === "signin" || mode === "signup") && (
          <Field
            name="password"
            label="Password"
            type="password"
            value={password}
            onChange={setPassword}
            minLength={mode === "signup" ? 12 : undefined}
            autoComplete={mode === "signup" ? "new-password" : "current-password"}
          />
        )}
        {mode === "2fa" && <Field name="code" label="Code from your authenticator app or a backup code" value={code} onChange={setCode} autoComplete="one-time-code" />}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy}>
          {mode === "signup" ? "Create account" : mode === "reset" ? "Send reset link" : mode === "2fa" ? "Verify" : mode === "newpw" ? "Set password" : "Sign in"}
        </button>
        <div className="auth-links">
          {mode === "signin" ? (
            <>
              <button type="button" className="link" onClick={() => setMode("signup")}>Create an account</button>
              <button type="button" className="link" onClick={() => setMode("reset")}>Forgot password?</button>
            </>
          ) : (
            <button type="button" className="link" onClick={() => setMode("signin")}>Back to sign in</button>
          )}
        </div>
      </form>
    </div>
  );
}

function useDebounced(fn: () => void, ms: number) {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<number | undefined>(undefined);
  return useCallback(() => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => ref.current(), ms);
  }, [ms]);
}

function Main(props: { me: User; setMe: (u: User) => void; theme: Theme; setTheme: (t: Theme) => void; onSignOut: () => void }) {
  const { me } = props;
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [wsId, setWsId] = useState("");
  const [sidebar, setSidebar] = useState<SidebarItem[]>([]);
  const [channels, setChannels] = useState<Channel[]>([]);
  const [members, setMembers] = useState<Member[]>([]);
  const [channelId, setChannelId] = useState("");
  const [pane, setPane] = useState<Pane>(null);
  const [toast, setToast] = useState("");
  const [conn, setConn] = useState<ConnState>("connecting");
  const [switcher, setSwitcher] = useState(false);
  const [navOpen, setNavOpen] = useState(false);
  const [notifCount, setNotifCount] = useState(0);
  const [typing, setTyping] = useState<Record<string, Record<string, number>>>({});
  const [presence, setPresence] = useState<Record<string, string>>({}); // userId → online, away, dnd, offline
  const [tick, setTick] = useState(0); // bumps to refetch messages
  // jump opens a channel at one message (a search result) rather than at
  // its latest; n tells two jumps to the same message apart.
  const [jump, setJump] = useState<Jump | null>(null);
  const rt = useRef<Realtime | null>(null);

  const ws = workspaces?.find((w) => w.id === wsId);
  const fail = useCallback((e: unknown) => setToast(errText(e)), []);

  const loadWorkspaces = useCallback(async () => {
    const r = await api.get("/workspaces");
    setWorkspaces(r.items);
    return r.items as Workspace[];
  }, []);

  // invitation links: /invite?token=…
  useEffect(() => {
    (async () => {
      const token = new URLSearchParams(location.search).get("token");
      let joined = "";
      if (location.pathname === "/invite" && token) {
        try {
          const r = await api.post("/invitations/accept", { token });
          joined = r?.workspaceId ?? r?.workspace?.id ?? r?.id ?? "";
        } catch (e) {
          fail(e);
        }
        history.replaceState(null, "", "/");
      }
      const items = await loadWorkspaces();
      setWsId(joined && items.some((w) => w.id === joined) ? joined : items[0]?.id ?? "");
    })().catch(fail);
  }, [loadWorkspaces, fail]);

  const loadSidebar = useCallback(async () => {
    if (!wsId) return;
    const [s, c] = await Promise.all([api.get(`/workspaces/${wsId}/sidebar`), api.get(`/workspaces/${wsId}/channels`)]);
    setSidebar(s.items);
    setChannels(c.items);
  }, [wsId]);
  const refreshSidebar = useDebounced(() => loadSidebar().catch(() => {}), 150);

  useEffect(() => {
    if (!wsId) return;
    setChannelId("");
    setPane(null);
    loadSidebar().catch(fail);
    api.get(`/workspaces/${wsId}/members`).then((r) => setMembers(r.items), fail);
    api.get(`/notifications/unread-count`).then((r) => setNotifCount(r.count ?? r.unreadCount ?? 0), () => {});
  }, [wsId, loadSidebar, fail]);

  useEffect(() => {
    if (!channelId && sidebar.length) setChannelId(sidebar[0].channelId);
  }, [sidebar, channelId]);

  const names = useMemo(() => new Map(members.map((m) => [m.userId, m.displayName])), [members]);
  useEffect(() => {
    const ids = members.map((m) => m.userId).filter((id) => id !== me.id).slice(0, 100);
    if (ids.length === 0) return;
    api.get(`/presence?users=${ids.map(encodeURIComponent).join(",")}`).then(
      (r) => setPresence(Object.fromEntries((r.items ?? []).map((p: { userId: string; status: string }) => [p.userId, p.status]))),
      () => {},
    );
  }, [members, me.id]);
  const userName = useCallback((id: string) => (id === me.id ? me.displayName : names.get(id) ?? "someone"), [names, me]);
  const channelName = useCallback((id: string) => channels.find((c) => c.id === id)?.name ?? sidebar.find((s) => s.channelId === id)?.name ?? "channel", [channels, sidebar]);
  const ctx: MdContext = useMemo(() => ({ userName, channelName }), [userName, channelName]);

  // realtime
  const bump = useDebounced(() => setTick((t) => t + 1), 100);
  const onFrame = useCallback(
    (f: Frame) => {
      if (f.type === "presence.updated" && f.data?.userId) {
        setPresence((p) => ({ ...p, [f.data.userId]: f.data.status }));
        return;
      }
      if (f.type === "typing") {
        const uid = f.data?.userId;
        const ch = f.topic?.replace(/^channel:/, "") ?? "";
        if (uid && uid !== me.id) {
          setTyping((t) => {
            const n = { ...t, [ch]: { ...(t[ch] ?? {}) } };
            if (f.data?.state === "stop" || f.data?.typing === false) delete n[ch][uid];
            else n[ch][uid] = Date.now() + 5000;
            return n;
          });
        }
        return;
      }
      if (f.type === "message.created" && f.data?.authorId) {
        // a sent message ends its author's typing indicator
        const ch = f.topic?.replace(/^channel:/, "") ?? "";
        setTyping((t) => {
          if (!t[ch]?.[f.data.authorId]) return t;
          const n = { ...t, [ch]: { ...t[ch] } };
          delete n[ch][f.data.authorId];
          return n;
        });
      }
      if (f.type === "resync" || f.topic?.startsWith("channel:")) bump();
      if (f.type === "notification.created") setNotifCount((c) => c + 1);
      if (f.type?.startsWith("channel.") || f.type?.startsWith("workspace.")) {
        api.get(`/workspaces/${wsId}/members`).then((r) => setMembers(r.items), () => {});
      }
      refreshSidebar();
    },
    [me.id, bump, refreshSidebar, wsId],
  );
  useEffect(() => {
    const r = new Realtime((f) => onFrameRef.current(f), setConn);
    rt.current = r;
    return () => r.close();
  }, []);
  const onFrameRef = useRef(onFrame);
  onFrameRef.current = onFrame;
  useEffect(() => {
    if (!wsId) return;
    rt.current?.setTopics([`user:${me.id}`, `workspace:${wsId}`, ...sidebar.map((s) => `channel:${s.channelId}`)]);
  }, [wsId, sidebar, me.id]);
  useEffect(() => {
    const t = window.setInterval(() => {
      setTyping((cur) => {
        const now = Date.now();
        let changed = false;
        const n: typeof cur = {};
        for (const [ch, us] of Object.entries(cur)) {
          n[ch] = {};
          for (const [u, exp] of Object.entries(us)) if (exp > now) n[ch][u] = exp;
            else changed = true;
        }
        return changed ? n : cur;
      });
    }, 1000);
    return () => window.clearInterval(t);
  }, []);

  // keyboard: Ctrl/Cmd-K, Esc, Alt-↑/↓
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setSwitcher((s) => !s);
      } else if (e.key === "Escape") {
        if (switcher) setSwitcher(false);
        else if (pane) setPane(null);
        else setNavOpen(false);
      } else if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
        e.preventDefault();
        const i = sidebar.findIndex((s) => s.channelId === channelId);
        const n = sidebar[(i + (e.key === "ArrowUp" ? -1 : 1) + sidebar.length) % sidebar.length];
        if (n) setChannelId(n.channelId);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [switcher, pane, sidebar, channelId]);

  const signOut = async () => {
    rt.current?.close();
    try {
      await api.post("/auth/logout", {});
    } catch {
      /* signing out anyway */
    }
    props.onSignOut();
  };

  if (workspaces === null) return <div className="loading" role="status">Loading…</div>;
  if (!ws)
    return (
      <WorkspaceSetup
        onDone={async (id) => {
          await loadWorkspaces();
          setWsId(id);
        }}
        onSignOut={signOut}
      />
    );

  const current = sidebar.find((s) => s.channelId === channelId);
  const channel = channels.find((c) => c.id === channelId);
  const typers = Object.keys(typing[channelId] ?? {}).map(userName);
  const isAdmin = ws.role === "owner" || ws.role === "admin" || !!me.systemAdmin;

  return (
    <div className={`shell ${navOpen ? "nav-open" : ""} ${pane ? "has-pane" : ""}`}>
      <nav className="rail" aria-label="Workspaces">
        {workspaces.map((w) => (
          <button key={w.id} className={`ws-btn ${w.id === wsId ? "active" : ""}`} title={w.name} aria-label={`Workspace ${w.name}`} aria-current={w.id === wsId} onClick={() => setWsId(w.id)}>
            {initials(w.name)}
          </button>
        ))}
        <button className="ws-btn add" title="Add a workspace" aria-label="Add a workspace" onClick={() => setWsId("")}>+</button>
      </nav>
      <aside className="sidebar" aria-label="Channels and direct messages">
        <header className="ws-head">
          <h2>{ws.name}</h2>
          <span className={`conn conn-${conn}`} role="status" aria-live="polite" title={`Realtime: ${conn}`}>
            <span className="dot" aria-hidden="true" />
            {conn === "live" ? "Live" : conn === "connecting" ? "Connecting…" : "Offline — reconnecting"}
          </span>
        </header>
        <button className="jump" onClick={() => setSwitcher(true)} aria-label="Jump to a channel (Ctrl+K)">
          Jump to… <kbd>Ctrl K</kbd>
        </button>
        <div className="side-links">
          <button className={`side-link ${pane?.kind === "notifications" ? "active" : ""}`} onClick={() => setPane({ kind: "notifications" })}>
            <span>🔔 Activity</span>
            {notifCount > 0 && <span className="badge mention" aria-label={`${notifCount} unread notifications`}>{notifCount}</span>}
          </button>
          <button className="side-link" onClick={() => setPane({ kind: "profile" })}>👤 Profile &amp; preferences</button>
          {isAdmin && <button className="side-link" onClick={() => setPane({ kind: "admin" })}>🛠 Admin</button>}
        </div>
        <ChannelList
          title="Channels"
          items={sidebar.filter((s) => s.type === "public" || s.type === "private")}
          current={channelId}
          onPick={(id) => {
            setChannelId(id);
            setNavOpen(false);
          }}
          onAdd={() => setPane({ kind: "details" })}
          wsId={wsId}
          onCreated={async (id) => {
            await loadSidebar();
            setChannelId(id);
          }}
          fail={fail}
        />
        <ChannelList
          title="Direct messages"
          items={sidebar.filter((s) => s.type !== "public" && s.type !== "private")}
          current={channelId}
          onPick={(id) => {
            setChannelId(id);
            setNavOpen(false);
          }}
          dm
          members={members.filter((m) => m.userId !== me.id)}
          presence={presence}
          wsId={wsId}
          onCreated={async (id) => {
            await loadSidebar();
            setChannelId(id);
          }}
          fail={fail}
        />
        <BrowseChannels channels={channels.filter((c) => !c.isMember && c.type === "public")} onJoin={async (id) => {
          try {
            await api.post(`/channels/${id}/join`);
            await loadSidebar();
            setChannelId(id);
          } catch (e) {
            fail(e);
          }
        }} />
        <footer className="me">
          <Avatar name={me.displayName} id={me.id} size={28} />
          <span className="me-name">{me.displayName}</span>
          <button className="link" onClick={signOut}>Sign out</button>
        </footer>
      </aside>
      <main className="channel" aria-label={current ? `Channel ${current.name}` : "Channel"}>
        <header className="chan-head">
          <button className="icon nav-toggle" aria-label="Open the sidebar" onClick={() => setNavOpen((o) => !o)}>☰</button>
          <h1>
            {current ? (current.type === "public" ? "# " : current.type === "private" ? "🔒 " : "") + current.name : ""}
          </h1>
          {channel?.topic && <span className="topic" title={channel.topic}>{channel.topic}</span>}
          <div className="spacer" />
          <SearchBox onSearch={(q) => setPane({ kind: "search", q })} />
          <button className="icon" aria-label="Channel details" onClick={() => setPane(pane?.kind === "details" ? null : { kind: "details" })}>ℹ️</button>
        </header>
        {channelId && (
          <MessageView
            key={channelId}
            channelId={channelId}
            jump={jump?.channelId === channelId ? jump : null}
            onJumped={() => setJump(null)}
            me={me}
            ctx={ctx}
            tick={tick}
            onThread={(m) => setPane({ kind: "thread", root: m })}
            fail={fail}
            unread={current?.unreadCount ?? 0}
            onRead={refreshSidebar}
          />
        )}
        <div className="typing" aria-live="polite">
          {typers.length > 0 && `${typers.join(", ")} ${typers.length > 1 ? "are" : "is"} typing…`}
        </div>
        {channelId && (
          <Composer
            key={`c-${channelId}`}
            channelId={channelId}
            placeholder={`Message ${current?.type === "public" || current?.type === "private" ? "#" : ""}${current?.name ?? ""}`}
            me={me}
            members={members}
            channels={channels}
            fail={fail}
            onTyping={() => rt.current?.send({ type: "typing", topic: `channel:${channelId}` })}
            onSent={bump}
          />
        )}
      </main>
      {pane && (
        <section className="pane" aria-label="Details pane">
          <button className="icon close" aria-label="Close" onClick={() => setPane(null)}>✕</button>
          {pane.kind === "thread" && <ThreadPane key={pane.root.id} root={pane.root} highlight={pane.highlight} me={me} ctx={ctx} tick={tick} fail={fail} members={members} channels={channels} />}
          {pane.kind === "details" && channel && <ChannelDetails channel={channel} ctx={ctx} fail={fail} onChanged={loadSidebar} wsId={wsId} members={members} />}
          {pane.kind === "details" && !channel && <NewChannel wsId={wsId} fail={fail} onCreated={async (id) => { await loadSidebar(); setChannelId(id); }} />}
          {pane.kind === "search" && <SearchPane wsId={wsId} q={pane.q} ctx={ctx} onOpen={(m) => {
            // A reply is shown where its thread starts, with the thread
            // open beside it.
            setJump({ channelId: m.channelId, messageId: m.threadId || m.id, n: Date.now() });
            setChannelId(m.channelId);
            if (m.threadId) {
              api.get(`/messages/${m.threadId}`).then((root: Message) => setPane({ kind: "thread", root, highlight: m.id }), fail);
            }
          }} fail={fail} />}
          {pane.kind === "notifications" && <NotificationsPane onCount={setNotifCount} fail={fail} onOpen={(id) => setChannelId(id)} />}
          {pane.kind === "profile" && <ProfilePane me={me} setMe={props.setMe} theme={props.theme} setTheme={props.setTheme} fail={fail} />}
          {pane.kind === "admin" && <AdminPane ws={ws} members={members} fail={fail} me={me} onChanged={() => api.get(`/workspaces/${wsId}/members`).then((r) => setMembers(r.items), fail)} />}
        </section>
      )}
      {switcher && (
        <QuickSwitcher
          items={sidebar}
          onPick={(id) => {
            setChannelId(id);
            setSwitcher(false);
          }}
          onClose={() => setSwitcher(false)}
        />
      )}
      {toast && (
        <div className="toast" role="alert">
          <span>{toast}</span>
          <button className="icon" aria-label="Dismiss" onClick={() => setToast("")}>✕</button>
        </div>
      )}
    </div>
  );
}

function WorkspaceSetup({ onDone, onSignOut }: { onDone: (id: string) => void; onSignOut: () => void }) {
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [invite, setInvite] = useState("");
  const [error, setError] = useState("");
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    try {
      const w = await api.post("/workspaces", { name: name.trim(), slug: slug || name.trim().toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") });
      onDone(w.id);
    } catch (err) {
      setError(errText(err));
    }
  };
  const join = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    try {
      const token = invite.includes("token=") ? new URL(invite, location.origin).searchParams.get("token") ?? "" : invite.trim();
      const r = await api.post("/invitations/accept", { token });
      onDone(r?.workspaceId ?? r?.workspace?.id ?? r?.id ?? "");
    } catch (err) {
      setError(errText(err));
    }
  };
  return (
    <div className="auth">
      <div className="auth-card wide">
        <div className="brand"><span className="logo" aria-hidden="true">Q</span> QuikApp</div>
        <h1>Get started with a workspace</h1>
        <form onSubmit={create} aria-label="Create a workspace">
          <h2>Create a workspace</h2>
          <Field name="wsname" label="Workspace name" value={name} onChange={setName} />
          <label className="field">
            <span>URL name (optional)</span>
            <input name="slug" value={slug} pattern="[a-z0-9-]*" onChange={(e) => setSlug(e.target.value.toLowerCase())} />
          </label>
          <button className="primary" type="submit">Create workspace</button>
        </form>
        <div className="or">or</div>
        <form onSubmit={join} aria-label="Join with an invitation">
          <h2>Join with an invitation</h2>
          <Field name="invite" label="Invitation link or token" value={invite} onChange={setInvite} />
          <button type="submit">Join workspace</button>
        </form>
        {error && <p className="error" role="alert">{error}</p>}
        <button className="link" onClick={onSignOut}>Sign out</button>
      </div>
    </div>
  );
}

function ChannelList(props: {
  title: string;
  items: SidebarItem[];
  current: string;
  onPick: (id: string) => void;
  onAdd?: () => void;
  dm?: boolean;
  members?: Member[];
  presence?: Record<string, string>;
  wsId: string;
  onCreated: (id: string) => void;
  fail: (e: unknown) => void;
}) {
  const [adding, setAdding] = useState(false);
  return (
    <section className="chan-list" aria-label={props.title}>
      <div className="section-head">
        <h3>{props.title}</h3>
        <button className="icon small" aria-label={props.dm ? "New direct message" : "New channel"} onClick={() => setAdding((a) => !a)}>+</button>
      </div>
      {adding && !props.dm && <NewChannel wsId={props.wsId} fail={props.fail} onCreated={(id) => { setAdding(false); props.onCreated(id); }} compact />}
      {adding && props.dm && (
        <ul className="dm-picker" aria-label="People">
          {(props.members ?? []).map((m) => (
            <li key={m.userId}>
              <button
                onClick={async () => {
                  try {
                    const c = await api.post("/dms", { userIds: [m.userId], workspaceId: props.wsId });
                    setAdding(false);
                    props.onCreated(c.id ?? c.channelId);
                  } catch (e) {
                    props.fail(e);
                  }
                }}
              >
                <PresenceDot status={props.presence?.[m.userId]} /> {m.displayName}
              </button>
            </li>
          ))}
          {(props.members ?? []).length === 0 && <li className="muted">Nobody else here yet.</li>}
        </ul>
      )}
      <ul>
        {props.items.map((s) => (
          <li key={s.channelId}>
            <button
              className={`chan ${s.channelId === props.current ? "active" : ""} ${s.unreadCount > 0 && !s.muted ? "unread" : ""} ${s.muted ? "muted" : ""}`}
              aria-current={s.channelId === props.current}
              onClick={() => props.onPick(s.channelId)}
              data-channel={s.name}
            >
              <span className="chan-name">
                {s.type === "public" ? "#" : s.type === "private" ? "🔒" : <PresenceDot status={props.presence?.[(props.members ?? []).find((m) => m.displayName === s.name)?.userId ?? ""]} />} {s.name}
                {s.starred && " ★"}
              </span>
              {s.mentionCount > 0 ? (
                <span className="badge mention" aria-label={`${s.mentionCount} mentions`}>{s.mentionCount}</span>
              ) : s.unreadCount > 0 && !s.muted ? (
                <span className="badge" aria-label={`${s.unreadCount} unread`}>{s.unreadCount}</span>
              ) : null}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function BrowseChannels({ channels, onJoin }: { channels: Channel[]; onJoin: (id: string) => void }) {
  if (!channels.length) return null;
  return (
    <section className="chan-list" aria-label="More channels">
      <div className="section-head"><h3>More channels</h3></div>
      <ul>
        {channels.map((c) => (
          <li key={c.id}>
            <button className="chan" onClick={() => onJoin(c.id)} aria-label={`Join #${c.name}`}>
              <span className="chan-name"># {c.name}</span>
              <span className="join">Join</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NewChannel({ wsId, fail, onCreated, compact }: { wsId: string; fail: (e: unknown) => void; onCreated: (id: string) => void; compact?: boolean }) {
  const [name, setName] = useState("");
  const [priv, setPriv] = useState(false);
  const [topic, setTopic] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    try {
      const c = await api.post(`/workspaces/${wsId}/channels`, { name: name.trim().toLowerCase(), type: priv ? "private" : "public", topic });
      setName("");
      onCreated(c.id);
    } catch (err) {
      setError(errText(err));
      if (!compact) fail(err);
    }
  };
  return (
    <form className={`new-channel ${compact ? "compact" : ""}`} onSubmit={submit} aria-label="Create a channel">
      {!compact && <h2>Create a channel</h2>}
      <label className="field">
        <span>Channel name</span>
        <input name="channelName" value={name} required maxLength={80} onChange={(e) => setName(e.target.value.toLowerCase().replace(/\s+/g, "-"))} placeholder="e.g. plan-budget" />
      </label>
      {!compact && (
        <label className="field">
          <span>Topic</span>
          <input name="topic" value={topic} onChange={(e) => setTopic(e.target.value)} />
        </label>
      )}
      <label className="check">
        <input type="checkbox" checked={priv} onChange={(e) => setPriv(e.target.checked)} /> Private
      </label>
      {error && <p className="error" role="alert">{error}</p>}
      <button className="primary" type="submit">Create</button>
    </form>
  );
}

function SearchBox({ onSearch }: { onSearch: (q: string) => void }) {
  const [q, setQ] = useState("");
  return (
    <form
      className="search"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        if (q.trim()) onSearch(q.trim());
      }}
    >
      <input aria-label="Search messages" placeholder="Search" value={q} onChange={(e) => setQ(e.target.value)} />
    </form>
  );
}

// ---------- messages ----------
function Thumb({ file }: { file: FileInfo }) {
  const [src, setSrc] = useState("");
  const name = file.name ?? file.filename ?? "file";
  const type = file.contentType ?? file.mimeType ?? "";
  const isImage = type.startsWith("image/") || /\.(png|jpe?g|gif|webp)$/i.test(name);
  useEffect(() => {
    if (!isImage) return;
    let stop = false;
    let tries = 0;
    const load = () =>
      blobURL(`/files/${file.id}/thumbnail?size=medium`).then(
        (u) => !stop && setSrc(u),
        () => {
          // the worker may not have made it yet
          if (!stop && tries++ < 10) window.setTimeout(load, 800);
          else if (!stop) blobURL(`/files/${file.id}/content`).then((u) => !stop && setSrc(u), () => {});
        },
      );
    load();
    return () => {
      stop = true;
    };
  }, [file.id, isImage]);
  const download = async () => {
    const u = await blobURL(`/files/${file.id}/content`);
    const a = document.createElement("a");
    a.href = u;
    a.download = name;
    a.click();
  };
  return (
    <div className="attachment">
      {isImage ? (
        src ? <img className="thumb" src={src} alt={name} /> : <div className="thumb placeholder" aria-label={`Preparing preview of ${name}`} />
      ) : null}
      <button className="file-name link" onClick={download} aria-label={`Download ${name}`}>📎 {name}</button>
    </div>
  );
}

function MessageItem(props: { m: Message; grouped: boolean; me: User; ctx: MdContext; onThread?: (m: Message) => void; fail: (e: unknown) => void; onChanged: () => void; editing: boolean; setEditing: (b: boolean) => void; highlighted?: boolean }) {
  const { m, me, ctx } = props;
  const [draft, setDraft] = useState(m.text);
  const [picker, setPicker] = useState(false);
  const react = async (emoji: string, mine: boolean) => {
    try {
      if (mine) await api.del(`/messages/${m.id}/reactions`, { emoji });
      else await api.post(`/messages/${m.id}/reactions`, { emoji });
      props.onChanged();
    } catch (e) {
      props.fail(e);
    }
  };
  const saveEdit = async () => {
    try {
      await api.patch(`/messages/${m.id}`, { text: draft });
      props.setEditing(false);
      props.onChanged();
    } catch (e) {
      props.fail(e);
    }
  };
  const remove = async () => {
    if (!confirm("Delete this message?")) return;
    try {
      await api.del(`/messages/${m.id}`);
      props.onChanged();
    } catch (e) {
      props.fail(e);
    }
  };
  const pin = async () => {
    try {
      await api.post(`/messages/${m.id}/pin`);
      props.onChanged();
    } catch (e) {
      props.fail(e);
    }
  };
  return (
    <article className={`msg ${props.grouped ? "grouped" : ""} ${props.highlighted ? "jumped" : ""}`} aria-label={`Message from ${ctx.userName(m.authorId)}`} aria-current={props.highlighted ? "location" : undefined} data-id={m.id}>
      <div className="msg-gutter">
        {props.grouped ? <time className="hover-time" dateTime={m.createdAt}>{timeLabel(m.createdAt)}</time> : <Avatar name={ctx.userName(m.authorId)} id={m.authorId} />}
      </div>
      <div className="msg-body">
        {!props.grouped && (
          <div className="msg-meta">
            <span className="author">{ctx.userName(m.authorId)}</span>
            <time dateTime={m.createdAt}>{timeLabel(m.createdAt)}</time>
          </div>
        )}
        {m.deleted ? (
          <p className="deleted">This message was deleted.</p>
        ) : props.editing ? (
          <div className="edit">
            <textarea
              aria-label="Edit message"
              value={draft}
              autoFocus
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey) {
                  e.preventDefault();
                  saveEdit();
                } else if (e.key === "Escape") {
                  e.stopPropagation();
                  props.setEditing(false);
                }
              }}
            />
            <div className="edit-actions">
              <button onClick={() => props.setEditing(false)}>Cancel</button>
              <button className="primary" onClick={saveEdit}>Save</button>
            </div>
          </div>
        ) : (
          <div className="text">
            <Markdown text={m.text} ctx={ctx} />
            {m.editedAt && <span className="edited">(edited)</span>}
          </div>
        )}
        {(m.files ?? []).length > 0 && (
          <div className="attachments">
            {(m.files ?? []).map((f) => <Thumb key={f.id} file={f} />)}
          </div>
        )}
        {(m.reactions ?? []).length > 0 && (
          <div className="reactions">
            {(m.reactions ?? []).map((r) => {
              const mine = r.users.includes(me.id);
              const who = r.users.map(ctx.userName).join(", ");
              return (
                <button key={r.emoji} className={`reaction ${mine ? "mine" : ""}`} title={`${who} reacted with ${r.emoji}`} aria-label={`${r.emoji} ${r.count}, by ${who}`} aria-pressed={mine} onClick={() => react(r.emoji, mine)}>
                  <span>{r.emoji}</span> <span className="count">{r.count}</span>
                </button>
              );
            })}
          </div>
        )}
        {props.onThread && m.replyCount > 0 && (
          <button className="thread-summary" onClick={() => props.onThread!(m)}>
            {m.replyCount} {m.replyCount === 1 ? "reply" : "replies"}
            {m.lastReplyAt && <span className="muted"> · last reply {timeLabel(m.lastReplyAt)}</span>}
          </button>
        )}
      </div>
      {!m.deleted && !props.editing && (
        <div className="msg-actions" role="toolbar" aria-label="Message actions">
          <button className="icon small" aria-label="Add reaction" onClick={() => setPicker((p) => !p)}>☺</button>
          {props.onThread && <button className="icon small" aria-label="Reply in thread" onClick={() => props.onThread!(m)}>💬</button>}
          <button className="icon small" aria-label="Pin message" onClick={pin}>📌</button>
          {m.authorId === me.id && <button className="icon small" aria-label="Edit message" onClick={() => props.setEditing(true)}>✎</button>}
          <button className="icon small" aria-label="Delete message" onClick={remove}>🗑</button>
          {picker && (
            <div className="emoji-picker" role="menu">
              {QUICK_EMOJI.map((e) => (
                <button key={e} role="menuitem" aria-label={`React with ${e}`} onClick={() => { setPicker(false); react(e, false); }}>{e}</button>
              ))}
            </div>
          )}
        </div>
      )}
    </article>
  );
}

function MessageList(props: { items: Message[]; me: User; ctx: MdContext; onThread?: (m: Message) => void; fail: (e: unknown) => void; onChanged: () => void; editingId: string; setEditingId: (id: string) => void; highlight?: string }) {
  const out: ReactNode[] = [];
  let prev: Message | undefined;
  for (const m of props.items) {
    const day = new Date(m.createdAt).toDateString();
    if (!prev || new Date(prev.createdAt).toDateString() !== day) {
      out.push(
        <div key={`d-${m.id}`} className="day" role="separator" aria-label={dayLabel(m.createdAt)}>
          <span>{dayLabel(m.createdAt)}</span>
        </div>,
      );
      prev = undefined;
    }
    const grouped = !!prev && prev.authorId === m.authorId && new Date(m.createdAt).getTime() - new Date(prev.createdAt).getTime() < 5 * 60_000 && !prev.deleted;
    out.push(
      <MessageItem key={m.id} m={m} grouped={grouped} me={props.me} ctx={props.ctx} onThread={props.onThread} fail={props.fail} onChanged={props.onChanged}
        editing={props.editingId === m.id} setEditing={(b) => props.setEditingId(b ? m.id : "")} highlighted={props.highlight === m.id} />,
    );
    prev = m;
  }
  return <>{out}</>;
}

// editLast lets the composer's ↑ reach the list.
const editLastBus = new EventTarget();

// Jump opens a channel at one message (a search result) rather than at its
// latest; n tells two jumps to the same message apart.
type Jump = { channelId: string; messageId: string; n: number };

function MessageView(props: { channelId: string; jump: Jump | null; onJumped: () => void; me: User; ctx: MdContext; tick: number; onThread: (m: Message) => void; fail: (e: unknown) => void; unread: number; onRead: () => void }) {
  const [items, setItems] = useState<Message[]>([]);
  const [older, setOlder] = useState<string | null>("");
  // newer is the last message loaded while the view is away from the
  // latest (opened at a search result); null: the latest are shown, and
  // live events fill in below.
  const [newer, setNewer] = useState<string | null>(null);
  const [highlight, setHighlight] = useState("");
  const [editingId, setEditingId] = useState("");
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const loadingOlder = useRef(false);
  const loadingNewer = useRef(false);
  // settling: a jump's page is in but not yet scrolled to its message; the
  // scroll events of the swap itself must not page in more.
  const settling = useRef(false);
  // away: the view is not at the latest (set from the moment a jump
  // starts), so refreshes must not merge the latest in.
  const away = useRef(!!props.jump);

  const loadLatest = useCallback(async () => {
    if (away.current) return; // merging the latest in would leave a gap above them
    const r = await api.get(`/channels/${props.channelId}/messages?limit=50`);
    if (away.current) return; // a jump began meanwhile
    const latest: Message[] = (r.items as Message[]).filter((m) => !m.threadId);
    setItems((cur) => {
      const byId = new Map(cur.map((m) => [m.id, m]));
      for (const m of latest) byId.set(m.id, m);
      return [...byId.values()].sort((a, b) => a.seq - b.seq);
    });
    setOlder((o) => (o === "" ? (r.items.length >= 50 ? r.items[0]?.id ?? null : null) : o));
    const last = r.items[r.items.length - 1];
    if (last) api.post(`/channels/${props.channelId}/read`, { messageId: last.id }).then(props.onRead, () => {});
  }, [props.channelId, props.onRead]);

  useEffect(() => {
    loadLatest().catch(props.fail);
  }, [loadLatest, props.tick, props.fail]);

  // Opened at a message: the page around it, scrolled to it and marked;
  // newer ones load as one scrolls down, until the latest.
  const jumpTo = props.jump?.messageId ?? "";
  const jumpN = props.jump?.n ?? 0;
  const onJumped = useRef(props.onJumped);
  onJumped.current = props.onJumped;
  useEffect(() => {
    if (!jumpTo) return;
    let gone = false;
    away.current = true;
    (async () => {
      const r = await api.get(`/channels/${props.channelId}/messages?around=${encodeURIComponent(jumpTo)}&limit=50`);
      const page = (r.items as Message[]).filter((m) => !m.threadId);
      const last = r.items[r.items.length - 1];
      const after = last ? await api.get(`/channels/${props.channelId}/messages?after=${encodeURIComponent(last.id)}&limit=1`) : { items: [] };
      if (gone) return;
      stick.current = false;
      settling.current = true;
      setItems(page);
      setOlder(r.items[0]?.id ?? null); // scrolling up finds out whether there is more
      if (after.items.length > 0) {
        setNewer(last.id);
      } else {
        away.current = false; // the page reaches the latest: live from here
        setNewer(null);
      }
      setHighlight(jumpTo);
      onJumped.current(); // done: a later visit to the channel opens at the latest
      requestAnimationFrame(() => {
        scroller.current?.querySelector(`[data-id="${CSS.escape(jumpTo)}"]`)?.scrollIntoView({ block: "center" });
        requestAnimationFrame(() => (settling.current = false));
      });
    })().catch(props.fail);
    return () => {
      gone = true;
    };
  }, [jumpTo, jumpN, props.channelId, props.fail]);

  const backToLatest = () => {
    stick.current = true;
    away.current = false;
    setNewer(null);
    setHighlight("");
    setItems([]);
    setOlder("");
    loadLatest().catch(props.fail);
  };

  useEffect(() => {
    const el = scroller.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [items]);

  useEffect(() => {
    const h = () => {
      const mine = [...items].reverse().find((m) => m.authorId === props.me.id && !m.deleted);
      if (mine) setEditingId(mine.id);
    };
    editLastBus.addEventListener("edit-last", h);
    return () => editLastBus.removeEventListener("edit-last", h);
  }, [items, props.me.id]);

  const onScroll = async () => {
    const el = scroller.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (settling.current) return;
    if (el.scrollTop < 80 && older && !loadingOlder.current) {
      loadingOlder.current = true;
      try {
        const r = await api.get(`/channels/${props.channelId}/messages?before=${encodeURIComponent(older)}&limit=50`);
        const h0 = el.scrollHeight;
        setItems((cur) => {
          const ids = new Set(cur.map((m) => m.id));
          return [...(r.items as Message[]).filter((m) => !ids.has(m.id) && !m.threadId), ...cur].sort((a, b) => a.seq - b.seq);
        });
        setOlder(r.items.length >= 50 ? r.items[0].id : null);
        requestAnimationFrame(() => (el.scrollTop += el.scrollHeight - h0));
      } catch (e) {
        props.fail(e);
      } finally {
        loadingOlder.current = false;
      }
    }
    if (newer && el.scrollHeight - el.scrollTop - el.clientHeight < 80 && !loadingNewer.current) {
      loadingNewer.current = true;
      try {
        const r = await api.get(`/channels/${props.channelId}/messages?after=${encodeURIComponent(newer)}&limit=50`);
        setItems((cur) => {
          const ids = new Set(cur.map((m) => m.id));
          return [...cur, ...(r.items as Message[]).filter((m) => !ids.has(m.id) && !m.threadId)].sort((a, b) => a.seq - b.seq);
        });
        if (r.items.length >= 50) {
          setNewer(r.items[r.items.length - 1].id);
        } else {
          // Caught up: from here live events fill in, as at the latest.
          away.current = false;
          setNewer(null);
          loadLatest().catch(props.fail);
        }
      } catch (e) {
        props.fail(e);
      } finally {
        loadingNewer.current = false;
      }
    }
  };

  return (
    <div className="messages-wrap">
      <div className="messages" ref={scroller} onScroll={onScroll} aria-label="Messages" role="log" tabIndex={0}>
        {older === null && <div className="chan-start">This is the very beginning of the conversation.</div>}
        <MessageList items={items} me={props.me} ctx={props.ctx} onThread={props.onThread} fail={props.fail} onChanged={() => loadLatest().catch(props.fail)} editingId={editingId} setEditingId={setEditingId} highlight={highlight} />
      </div>
      {newer !== null && (
        <button className="jump-latest" onClick={backToLatest}>
          Jump to the latest ↓
        </button>
      )}
    </div>
  );
}

function Composer(props: { channelId: string; threadId?: string; placeholder: string; me: User; members: Member[]; channels: Channel[]; fail: (e: unknown) => void; onTyping?: () => void; onSent: () => void }) {
  const [text, setText] = useState("");
  const [files, setFiles] = useState<{ id: string; name: string }[]>([]);
  const [progress, setProgress] = useState<number | null>(null);
  const [preview, setPreview] = useState(false);
  const [alsoChannel, setAlsoChannel] = useState(false);
  const [sel, setSel] = useState(0);
  const [drag, setDrag] = useState(false);
  const ta = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const lastTyping = useRef(0);

  // autocomplete on the word before the caret
  const caretWord = (() => {
    const el = ta.current;
    const pos = el?.selectionStart ?? text.length;
    const m = /(^|\s)([@#:])([\w-]*)$/.exec(text.slice(0, pos));
    return m ? { kind: m[2], q: m[3].toLowerCase(), start: pos - m[3].length - 1, end: pos } : null;
  })();
  const suggestions: { label: string; insert: string }[] = !caretWord
    ? []
    : caretWord.kind === "@"
      ? [
          ...props.members.filter((m) => m.displayName.toLowerCase().includes(caretWord.q)).map((m) => ({ label: `@${m.displayName}`, insert: `<@${m.userId}> ` })),
          ...["channel", "here"].filter((s) => s.startsWith(caretWord.q)).map((s) => ({ label: `@${s}`, insert: `@${s} ` })),
        ].slice(0, 8)
      : caretWord.kind === "#"
        ? props.channels.filter((c) => c.name.includes(caretWord.q)).slice(0, 8).map((c) => ({ label: `#${c.name}`, insert: `<#${c.id}> ` }))
        : caretWord.q.length >= 1
          ? Object.entries(EMOJI_CODES).filter(([k]) => k.startsWith(caretWord.q)).slice(0, 8).map(([k, v]) => ({ label: `${v} :${k}:`, insert: `${v} ` }))
          : [];

  const pick = (s: { insert: string }) => {
    if (!caretWord) return;
    const next = text.slice(0, caretWord.start) + s.insert + text.slice(caretWord.end);
    setText(next);
    setSel(0);
    requestAnimationFrame(() => ta.current?.focus());
  };

  const send = async () => {
    const body = text.trim();
    if (!body && files.length === 0) return;
    try {
      await api.post(`/channels/${props.channelId}/messages`, {
        text: body,
        clientMessageId: newId(),
        ...(props.threadId ? { threadId: props.threadId, alsoInChannel: alsoChannel } : {}),
        ...(files.length ? { fileIds: files.map((f) => f.id) } : {}),
      });
      setText("");
      setFiles([]);
      setPreview(false);
      props.onSent();
    } catch (e) {
      props.fail(e);
    }
  };

  const attach = async (list: FileList | null) => {
    if (!list) return;
    for (const f of Array.from(list)) {
      setProgress(0);
      try {
        const r = await upload(props.channelId, f, setProgress);
        setFiles((cur) => [...cur, { id: r.id, name: r.name ?? r.filename ?? f.name }]);
      } catch (e) {
        props.fail(e);
      } finally {
        setProgress(null);
      }
    }
  };

  return (
    <div
      className={`composer ${drag ? "drag" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDrag(true);
      }}
      onDragLeave={() => setDrag(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDrag(false);
        attach(e.dataTransfer.files);
      }}
    >
      {suggestions.length > 0 && (
        <ul className="suggest" role="listbox" aria-label="Suggestions">
          {suggestions.map((s, i) => (
            <li key={s.label} role="option" aria-selected={i === sel} className={i === sel ? "sel" : ""} onMouseDown={(e) => { e.preventDefault(); pick(s); }}>
              {s.label}
            </li>
          ))}
        </ul>
      )}
      {preview ? (
        <div className="preview text" aria-label="Preview">
          <Markdown text={text || "Nothing to preview"} ctx={{ userName: (id) => props.members.find((m) => m.userId === id)?.displayName ?? "someone", channelName: (id) => props.channels.find((c) => c.id === id)?.name ?? "channel" }} />
        </div>
      ) : (
        <textarea
          ref={ta}
          rows={1}
          aria-label={props.placeholder}
          placeholder={props.placeholder}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setSel(0);
            if (props.onTyping && Date.now() - lastTyping.current > 3000) {
              lastTyping.current = Date.now();
              props.onTyping();
            }
          }}
          onKeyDown={(e) => {
            if (suggestions.length) {
              if (e.key === "ArrowDown" || e.key === "ArrowUp") {
                e.preventDefault();
                setSel((s) => (s + (e.key === "ArrowDown" ? 1 : -1) + suggestions.length) % suggestions.length);
                return;
              }
              if (e.key === "Enter" || e.key === "Tab") {
                e.preventDefault();
                pick(suggestions[sel] ?? suggestions[0]);
                return;
              }
            }
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              send();
            } else if (e.key === "ArrowUp" && text === "" && !props.threadId) {
              e.preventDefault();
              editLastBus.dispatchEvent(new Event("edit-last"));
            }
          }}
        />
      )}
      {files.length > 0 && (
        <ul className="pending-files" aria-label="Attached files">
          {files.map((f) => (
            <li key={f.id}>📎 {f.name} <button className="icon small" aria-label={`Remove ${f.name}`} onClick={() => setFiles((c) => c.filter((x) => x.id !== f.id))}>✕</button></li>
          ))}
        </ul>
      )}
      {progress !== null && (
        <div className="progress" role="progressbar" aria-label="Upload progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(progress * 100)}>
          <div style={{ width: `${Math.round(progress * 100)}%` }} />
        </div>
      )}
      <div className="composer-bar">
        <button className="icon" aria-label="Attach a file" onClick={() => fileInput.current?.click()}>📎</button>
        <input ref={fileInput} type="file" hidden multiple aria-label="File to upload" data-testid="file-input" onChange={(e) => { attach(e.target.files); e.target.value = ""; }} />
        <button className={`icon ${preview ? "on" : ""}`} aria-label="Preview Markdown" aria-pressed={preview} onClick={() => setPreview((p) => !p)}>👁</button>
        {props.threadId && (
          <label className="check small">
            <input type="checkbox" checked={alsoChannel} onChange={(e) => setAlsoChannel(e.target.checked)} /> Also send to channel
          </label>
        )}
        <span className="hint">**bold** _italic_ `code` · Shift+Enter for a new line</span>
        <button className="primary send" aria-label="Send message" onClick={send} disabled={!text.trim() && files.length === 0}>Send</button>
      </div>
    </div>
  );
}

function ThreadPane(props: { root: Message; highlight?: string; me: User; ctx: MdContext; tick: number; fail: (e: unknown) => void; members: Member[]; channels: Channel[] }) {
  const [root, setRoot] = useState(props.root);
  const [replies, setReplies] = useState<Message[]>([]);
  const [editingId, setEditingId] = useState("");
  const load = useCallback(async () => {
    const [r, m] = await Promise.all([api.get(`/messages/${props.root.id}/replies`), api.get(`/messages/${props.root.id}`)]);
    setReplies(r.items);
    setRoot(m);
  }, [props.root.id]);
  useEffect(() => {
    load().catch(props.fail);
  }, [load, props.tick, props.fail]);
  return (
    <div className="thread" aria-label="Thread">
      <h2>Thread</h2>
      <div className="thread-root">
        <MessageList items={[root]} me={props.me} ctx={props.ctx} fail={props.fail} onChanged={load} editingId={editingId} setEditingId={setEditingId} />
      </div>
      <div className="replies-count">{replies.length} {replies.length === 1 ? "reply" : "replies"}</div>
      <div className="messages thread-list">
        <MessageList items={replies} me={props.me} ctx={props.ctx} fail={props.fail} onChanged={load} editingId={editingId} setEditingId={setEditingId} highlight={props.highlight} />
      </div>
      <Composer channelId={root.channelId} threadId={root.id} placeholder="Reply…" me={props.me} members={props.members} channels={props.channels} fail={props.fail} onSent={() => load().catch(props.fail)} />
    </div>
  );
}

function ChannelDetails(props: { channel: Channel; ctx: MdContext; fail: (e: unknown) => void; onChanged: () => void; wsId: string; members: Member[] }) {
  const { channel } = props;
  const [members, setMembers] = useState<{ userId: string; displayName?: string; role?: string }[]>([]);
  const [pins, setPins] = useState<Message[]>([]);
  const [topic, setTopic] = useState(channel.topic);
  const [adding, setAdding] = useState("");
  const load = useCallback(async () => {
    const [m, p] = await Promise.all([api.get(`/channels/${channel.id}/members`), api.get(`/channels/${channel.id}/pins`).catch(() => ({ items: [] }))]);
    setMembers(m.items ?? []);
    setPins((p.items ?? []).map((x: any) => x.message ?? x));
  }, [channel.id]);
  useEffect(() => {
    load().catch(props.fail);
    setTopic(channel.topic);
  }, [load, props.fail, channel.topic]);
  const saveTopic = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api.patch(`/channels/${channel.id}`, { topic });
      props.onChanged();
    } catch (err) {
      props.fail(err);
    }
  };
  const invite = async () => {
    if (!adding) return;
    try {
      await api.post(`/channels/${channel.id}/members`, { userIds: [adding] });
      setAdding("");
      load();
    } catch (err) {
      props.fail(err);
    }
  };
  const leave = async () => {
    try {
      await api.post(`/channels/${channel.id}/leave`);
      props.onChanged();
    } catch (err) {
      props.fail(err);
    }
  };
  const archive = async () => {
    try {
      await api.post(`/channels/${channel.id}/${channel.archived ? "unarchive" : "archive"}`);
      props.onChanged();
    } catch (err) {
      props.fail(err);
    }
  };
  const ids = new Set(members.map((m) => m.userId));
  return (
    <div className="details">
      <h2>{channel.type === "private" ? "🔒" : "#"} {channel.name}</h2>
      {channel.purpose && <p className="muted">{channel.purpose}</p>}
      <form onSubmit={saveTopic} className="row">
        <label className="field grow">
          <span>Topic</span>
          <input name="topic" value={topic} maxLength={250} onChange={(e) => setTopic(e.target.value)} />
        </label>
        <button type="submit">Save</button>
      </form>
      <h3>Members ({members.length})</h3>
      <ul className="people">
        {members.map((m) => (
          <li key={m.userId}>
            <Avatar name={m.displayName ?? props.ctx.userName(m.userId)} id={m.userId} size={24} /> {m.displayName ?? props.ctx.userName(m.userId)}
          </li>
        ))}
      </ul>
      <div className="row">
        <label className="field grow">
          <span>Add someone</span>
          <select value={adding} onChange={(e) => setAdding(e.target.value)}>
            <option value="">Choose a person…</option>
            {props.members.filter((m) => !ids.has(m.userId)).map((m) => (
              <option key={m.userId} value={m.userId}>{m.displayName}</option>
            ))}
          </select>
        </label>
        <button onClick={invite}>Add</button>
      </div>
      <h3>Pinned ({pins.length})</h3>
      {pins.length === 0 && <p className="muted">Nothing pinned yet.</p>}
      <ul className="pins">
        {pins.map((p) => (
          <li key={p.id}><strong>{props.ctx.userName(p.authorId)}</strong>: <Markdown text={p.text} ctx={props.ctx} /></li>
        ))}
      </ul>
      <div className="row">
        <button onClick={leave}>Leave channel</button>
        <button className="danger" onClick={archive}>{channel.archived ? "Unarchive" : "Archive"}</button>
      </div>
    </div>
  );
}

function SearchPane({ wsId, q, ctx, onOpen, fail }: { wsId: string; q: string; ctx: MdContext; onOpen: (m: Message) => void; fail: (e: unknown) => void }) {
  const [query, setQuery] = useState(q);
  const [items, setItems] = useState<any[] | null>(null);
  const [error, setError] = useState("");
  const [sort, setSort] = useState("newest");
  const run = useCallback(
    async (qq: string) => {
      setError("");
      try {
        const r = await api.get(`/search?workspaceId=${encodeURIComponent(wsId)}&q=${encodeURIComponent(qq)}&type=messages&sort=${sort}`);
        setItems(r.items);
      } catch (e) {
        setItems([]);
        setError(errText(e));
      }
    },
    [wsId, sort],
  );
  useEffect(() => {
    setQuery(q);
    run(q);
  }, [q, run]);
  void fail;
  return (
    <div className="search-pane">
      <h2>Search</h2>
      <form className="row" role="search" onSubmit={(e) => { e.preventDefault(); run(query); }}>
        <input aria-label="Search query" className="grow" value={query} onChange={(e) => setQuery(e.target.value)} />
        <select aria-label="Order" value={sort} onChange={(e) => setSort(e.target.value)}>
          <option value="newest">Newest</option>
          <option value="relevance">Relevance</option>
        </select>
      </form>
      <p className="muted small">Try from:@name in:#channel has:file is:thread before:2026-01-02 "exact phrase"</p>
      {error && <p className="error" role="alert">{error}</p>}
      {items && items.length === 0 && !error && <p className="muted">No results for “{q}”.</p>}
      <ul className="results" aria-label="Search results">
        {(items ?? []).map((r, i) =>
          r.message ? (
            <li key={r.message.id ?? i}>
              <button className="result" onClick={() => onOpen(r.message)}>
                <div className="msg-meta">
                  <span className="author">{ctx.userName(r.message.authorId)}</span>
                  <span className="muted">in #{ctx.channelName(r.message.channelId)}</span>
                  <time>{dayLabel(r.message.createdAt)} {timeLabel(r.message.createdAt)}</time>
                </div>
                <div className="text">{highlightText(r.message.text, r.highlights ?? [])}</div>
              </button>
            </li>
          ) : null,
        )}
      </ul>
    </div>
  );
}

function NotificationsPane({ onCount, fail, onOpen }: { onCount: (n: number) => void; fail: (e: unknown) => void; onOpen: (channelId: string) => void }) {
  const [items, setItems] = useState<any[]>([]);
  const load = useCallback(async () => {
    const r = await api.get("/notifications");
    setItems(r.items ?? []);
    const c = await api.get("/notifications/unread-count");
    onCount(c.count ?? c.unreadCount ?? 0);
  }, [onCount]);
  useEffect(() => {
    load().catch(fail);
  }, [load, fail]);
  return (
    <div className="notifications">
      <div className="row">
        <h2 className="grow">Activity</h2>
        <button onClick={() => api.post("/notifications/read-all").then(load, fail)}>Mark all read</button>
      </div>
      {items.length === 0 && <p className="muted">You're all caught up.</p>}
      <ul className="results">
        {items.map((n) => (
          <li key={n.id} className={n.readAt || n.read ? "" : "unread"}>
            <button
              className="result"
              onClick={() => {
                api.post(`/notifications/${n.id}/read`).then(load, fail);
                if (n.channelId) onOpen(n.channelId);
              }}
            >
              <div className="msg-meta">
                <span className="author">{String(n.kind ?? n.type ?? "notification").replace(/_/g, " ")}</span>
                {n.createdAt && <time>{timeLabel(n.createdAt)}</time>}
              </div>
              <div className="text">{String(n.preview ?? n.text ?? n.title ?? n.body ?? "")}</div>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ProfilePane(props: { me: User; setMe: (u: User) => void; theme: Theme; setTheme: (t: Theme) => void; fail: (e: unknown) => void }) {
  const [name, setName] = useState(props.me.displayName);
  const [title, setTitle] = useState(props.me.title ?? "");
  const [status, setStatus] = useState("");
  const [emoji, setEmoji] = useState("💬");
  const [saved, setSaved] = useState("");
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const u = await api.patch(`/users/${props.me.id}`, { displayName: name.trim(), title });
      props.setMe({ ...props.me, ...u });
      setSaved("Profile saved.");
    } catch (err) {
      props.fail(err);
    }
  };
  const saveStatus = async (e: FormEvent) => {
    e.preventDefault();
    try {
      if (status.trim()) await api.put("/users/me/status", { text: status.trim(), emoji });
      else await api.del("/users/me/status");
      setSaved("Status updated.");
    } catch (err) {
      props.fail(err);
    }
  };
  const presence = async (s: string) => {
    try {
      await api.put("/users/me/presence", { status: s });
      setSaved(`Presence: ${s}.`);
    } catch (err) {
      props.fail(err);
    }
  };
  return (
    <div className="profile">
      <h2>Profile</h2>
      <form onSubmit={save}>
        <Field name="displayName" label="Display name" value={name} onChange={setName} />
        <label className="field">
          <span>Title</span>
          <input name="title" value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <button className="primary" type="submit">Save profile</button>
      </form>
      <h3>Status</h3>
      <form className="row" onSubmit={saveStatus}>
        <select aria-label="Status emoji" value={emoji} onChange={(e) => setEmoji(e.target.value)}>
          {["💬", "🏠", "🌴", "🤒", "📅", "🎧"].map((x) => <option key={x}>{x}</option>)}
        </select>
        <input aria-label="Status text" className="grow" value={status} maxLength={100} placeholder="What's your status?" onChange={(e) => setStatus(e.target.value)} />
        <button type="submit">Set</button>
      </form>
      <div className="row">
        {["auto", "away", "dnd", "invisible"].map((s) => <button key={s} onClick={() => presence(s)}>{s === "dnd" ? "Do not disturb" : s[0].toUpperCase() + s.slice(1)}</button>)}
      </div>
      <h3>Preferences</h3>
      <fieldset className="theme">
        <legend>Theme</legend>
        {(["light", "dark", "system"] as Theme[]).map((t) => (
          <label key={t} className="check">
            <input type="radio" name="theme" checked={props.theme === t} onChange={() => props.setTheme(t)} /> {t[0].toUpperCase() + t.slice(1)}
          </label>
        ))}
      </fieldset>
      {saved && <p className="notice" role="status">{saved}</p>}
    </div>
  );
}

function AdminPane(props: { ws: Workspace; members: Member[]; me: User; fail: (e: unknown) => void; onChanged: () => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("member");
  const [link, setLink] = useState("");
  const [audit, setAudit] = useState<any[]>([]);
  useEffect(() => {
    api.get(`/workspaces/${props.ws.id}/audit`).then((r) => setAudit(r.items ?? []), () => setAudit([]));
  }, [props.ws.id]);
  const invite = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const r = await api.post(`/workspaces/${props.ws.id}/invitations`, { email: email.trim(), role });
      setLink(`${location.origin}/invite?token=${encodeURIComponent(r.token)}`);
      setEmail("");
    } catch (err) {
      props.fail(err);
    }
  };
  const setMemberRole = async (userId: string, r: string) => {
    try {
      await api.patch(`/workspaces/${props.ws.id}/members/${userId}`, { role: r });
      props.onChanged();
    } catch (err) {
      props.fail(err);
    }
  };
  const remove = async (userId: string) => {
    try {
      await api.del(`/workspaces/${props.ws.id}/members/${userId}`);
      props.onChanged();
    } catch (err) {
      props.fail(err);
    }
  };
  return (
    <div className="admin">
      <h2>Admin · {props.ws.name}</h2>
      <h3>Invite people</h3>
      <form className="row" onSubmit={invite} aria-label="Invite by email">
        <input aria-label="Email to invite" className="grow" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} placeholder="name@example.com" />
        <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value)}>
          {["member", "guest", "moderator", "admin"].map((r) => <option key={r}>{r}</option>)}
        </select>
        <button className="primary" type="submit">Invite</button>
      </form>
      {link && (
        <p className="notice" role="status">
          Invitation link: <input className="invite-link" aria-label="Invitation link" readOnly value={link} onFocus={(e) => e.target.select()} />
        </p>
      )}
      <h3>Members ({props.members.length})</h3>
      <table className="table">
        <thead><tr><th>Name</th><th>Role</th><th /></tr></thead>
        <tbody>
          {props.members.map((m) => (
            <tr key={m.userId}>
              <td>{m.displayName}</td>
              <td>
                <select aria-label={`Role of ${m.displayName}`} value={m.role} disabled={m.userId === props.me.id} onChange={(e) => setMemberRole(m.userId, e.target.value)}>
                  {["owner", "admin", "moderator", "member", "guest"].map((r) => <option key={r}>{r}</option>)}
                </select>
              </td>
              <td>{m.userId !== props.me.id && <button className="danger small" onClick={() => remove(m.userId)}>Remove</button>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Audit log</h3>
      {audit.length === 0 && <p className="muted">No entries.</p>}
      <ul className="audit">
        {audit.slice(0, 50).map((a, i) => (
          <li key={a.id ?? i}><code>{String(a.action)}</code> <span className="muted">{String(a.result ?? "")} · {a.at ? timeLabel(a.at) : a.createdAt ? timeLabel(a.createdAt) : ""}</span></li>
        ))}
      </ul>
    </div>
  );
}

function QuickSwitcher({ items, onPick, onClose }: { items: SidebarItem[]; onPick: (id: string) => void; onClose: () => void }) {
  const [q, setQ] = useState("");
  const [sel, setSel] = useState(0);
  const list = items.filter((s) => s.name.toLowerCase().includes(q.toLowerCase()));
  return (
    <div className="overlay" onMouseDown={onClose}>
      <div className="switcher" role="dialog" aria-modal="true" aria-label="Quick switcher" onMouseDown={(e) => e.stopPropagation()}>
        <input
          autoFocus
          aria-label="Jump to a conversation"
          placeholder="Jump to a conversation…"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setSel(0);
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") setSel((s) => Math.min(s + 1, list.length - 1));
            else if (e.key === "ArrowUp") setSel((s) => Math.max(s - 1, 0));
            else if (e.key === "Enter" && list[sel]) onPick(list[sel].channelId);
          }}
        />
        <ul role="listbox">
          {list.map((s, i) => (
            <li key={s.channelId} role="option" aria-selected={i === sel} className={i === sel ? "sel" : ""} onMouseDown={() => onPick(s.channelId)}>
              {s.type === "public" ? "#" : s.type === "private" ? "🔒" : "●"} {s.name}
              {s.unreadCount > 0 && <span className="badge">{s.unreadCount}</span>}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
