/**
 * The Defender portal page of a machine. Government clouds have their own portal (mde-api.md §1.4):
 * an API base under `.us` means security.microsoft.us (GCC High; DoD's security.apps.mil is not
 * told apart by the API host, and GCC uses the commercial portal).
 */
export function portalLinkFor(apiUrl: string): (machineId: string) => string {
  const host = new URL(apiUrl).hostname;
  const portal =
    host.endsWith('.us') && !host.startsWith('api-gcc')
      ? 'https://security.microsoft.us'
      : 'https://security.microsoft.com';
  return (machineId) => `${portal}/machines/${encodeURIComponent(machineId)}`;
}
