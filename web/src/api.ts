// REST client. The session lives in HttpOnly cookies the server sets when we
// send X-QuikApp-Session: cookie; no token is ever visible to scripts. Every
// request carries X-QuikApp-CSRF, which the gateway requires of changes
// authenticated by cookie.
export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public body?: any) {
    super(message);
  }
}

const baseHeaders = { "X-QuikApp-Session": "cookie", "X-QuikApp-CSRF": "1" };

async function raw(method: string, path: string, body?: unknown, retry = true): Promise<any> {
  const headers: Record<string, string> = { ...baseHeaders };
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: "same-origin" });
  if (res.status === 401 && retry && !path.startsWith("/auth/")) {
    if (await refresh()) return raw(method, path, body, false);
  }
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const e = data?.error;
    throw new ApiError(res.status, e?.code ?? "HTTP_" + res.status, e?.message ?? `request failed (${res.status})`, data);
  }
  return data;
}

// refresh renews the access cookie with the refresh cookie.
let refreshing: Promise<boolean> | null = null;
export function refresh(): Promise<boolean> {
  refreshing ??= raw("POST", "/auth/refresh", {}, false)
    .then(() => true, () => false)
    .finally(() => (refreshing = null));
  return refreshing;
}

export const api = {
  get: (p: string) => raw("GET", p),
  post: (p: string, b?: unknown) => raw("POST", p, b ?? {}),
  patch: (p: string, b: unknown) => raw("PATCH", p, b),
  put: (p: string, b: unknown) => raw("PUT", p, b),
  del: (p: string, b?: unknown) => raw("DELETE", p, b),
};

// upload sends a file with progress (fetch has no upload progress).
export function upload(channelId: string, file: File, onProgress: (f: number) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/files?channelId=${encodeURIComponent(channelId)}`);
    for (const [k, v] of Object.entries(baseHeaders)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data: any;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        data = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data?.error?.code ?? "HTTP", data?.error?.message ?? `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new ApiError(0, "NETWORK", "network error during upload"));
    const fd = new FormData();
    fd.append("file", file);
    xhr.send(fd);
  });
}

// blobURL fetches an authenticated binary (thumbnails) as an object URL.
const blobCache = new Map<string, Promise<string>>();
export function blobURL(path: string): Promise<string> {
  let p = blobCache.get(path);
  if (!p) {
    p = fetch(`/api/v1${path}`, { credentials: "same-origin" }).then(async (r) => {
      if (!r.ok) {
        blobCache.delete(path);
        throw new Error(String(r.status));
      }
      return URL.createObjectURL(await r.blob());
    });
    blobCache.set(path, p);
  }
  return p;
}
