/** Human sizes and durations as the original API wrote them ("1.92 KB", "1 seconds", "3 minutes"). */
export function formatBytes(bytes: number): string {
  if (!(bytes > 0)) return '0 Bytes';
  if (bytes < 1024) return `${Math.round(bytes)} Bytes`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(2)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!(seconds > 0)) return '0 seconds';
  if (seconds < 60) return `${Math.max(1, Math.ceil(seconds))} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
