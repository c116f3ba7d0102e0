package access

// Action names something a user does. Packages use these constants so the
// policy stays in this file.
type Action string

// Actions.
const (
	WorkspaceRead   Action = "workspace.read"
	WorkspaceUpdate Action = "workspace.update"
	WorkspaceDelete Action = "workspace.delete"
	MemberList      Action = "member.list"
	MemberRemove    Action = "member.remove" // leaving is the owner rule
	MemberSetRole   Action = "member.set_role"
	InviteCreate    Action = "invite.create"
	InviteList      Action = "invite.list"
	AuditRead       Action = "audit.read"
	ChannelCreate   Action = "channel.create"
	ChannelJoin     Action = "channel.join" // public channels; guests are added, they do not join
	ChannelManage   Action = "channel.manage"
	FileUpload      Action = "file.upload"
	CallStart       Action = "call.start"
	MessagePost     Action = "message.post"
	MessageDelete   Action = "message.delete" // own: any member; others': moderator
	ReportHandle    Action = "report.handle"

	UserRead      Action = "user.read"   // oneself, or people one shares a workspace with
	UserUpdate    Action = "user.update" // own profile only
	SessionManage Action = "session.manage"

	AdminUsers  Action = "admin.users"
	AdminBan    Action = "admin.ban"
	AdminAudit  Action = "admin.audit"
	AdminStats  Action = "admin.stats"
	AdminConfig Action = "admin.config"
)

type scope int

const (
	scopeWorkspace scope = iota
	scopeSelf
	scopeSystem
	scopePeer // the actor, or someone sharing a workspace with them
)

type rule struct {
	scope scope
	min   Role // workspace scope: the least role that may
	// ownerMin, when set, is the least role that may do it to a resource
	// the actor owns (deleting one's own message, leaving a workspace).
	ownerMin Role
	verb     string
	// hide answers NOT_FOUND rather than FORBIDDEN to non-admins, for
	// routes whose existence is nobody else's business.
	hide bool
}

// rules is the whole policy (product.md, "Access rules"). System
// administrators may do everything.
var rules = map[Action]rule{
	WorkspaceRead:   {min: Guest, verb: "see this workspace"},
	WorkspaceUpdate: {min: Admin, verb: "change the workspace"},
	WorkspaceDelete: {min: Owner, verb: "delete the workspace"},
	MemberList:      {min: Guest, verb: "list members"},
	MemberRemove:    {min: Admin, ownerMin: Guest, verb: "remove members"},
	MemberSetRole:   {min: Admin, verb: "change roles"},
	InviteCreate:    {min: Member, verb: "invite people"},
	InviteList:      {min: Admin, verb: "see invitations"},
	AuditRead:       {min: Admin, verb: "read the audit log"},
	ChannelCreate:   {min: Member, verb: "create channels"},
	ChannelJoin:     {min: Member, verb: "join channels"},
	ChannelManage:   {min: Admin, verb: "manage other people's channel membership"},
	FileUpload:      {min: Member, verb: "upload files"},
	CallStart:       {min: Member, verb: "start calls"},
	MessagePost:     {min: Guest, verb: "post messages"},
	MessageDelete:   {min: Moderator, ownerMin: Guest, verb: "delete others' messages"},
	ReportHandle:    {min: Moderator, verb: "handle reports"},

	UserRead:      {scope: scopePeer, verb: "see this profile"},
	UserUpdate:    {scope: scopeSelf, verb: "change this profile"},
	SessionManage: {scope: scopeSelf, verb: "manage these sessions"},

	AdminUsers:  {scope: scopeSystem, verb: "manage users"},
	AdminBan:    {scope: scopeSystem, verb: "ban users"},
	AdminAudit:  {scope: scopeSystem, verb: "read the system audit log"},
	AdminStats:  {scope: scopeSystem, verb: "see statistics"},
	AdminConfig: {scope: scopeSystem, verb: "see the runtime configuration"},
}
