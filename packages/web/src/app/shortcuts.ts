/** Every keyboard shortcut, as the help overlay (press ?) lists them. Handlers live with the page they act on. */
export interface ShortcutGroup {
  title: string;
  items: Array<{ keys: string[]; action: string }>;
}

export const SHORTCUTS: ShortcutGroup[] = [
  {
    title: 'Anywhere',
    items: [
      { keys: ['?'], action: 'Show this help' },
      { keys: ['g', 'd'], action: 'Go to the dashboard' },
      { keys: ['g', 'l'], action: 'Go to the library' },
      { keys: ['g', 'c'], action: 'Go to compose' },
      { keys: ['g', 'n'], action: 'Go to generate' },
      { keys: ['g', 'h'], action: 'Go to the history' },
      { keys: ['g', 'a'], action: 'Go to analytics' },
      { keys: ['g', 'i'], action: 'Go to import, export and backups' },
      { keys: ['g', 's'], action: 'Go to settings' },
      { keys: ['t'], action: 'Switch dark / light theme' },
      { keys: ['Esc'], action: 'Close the open panel or dialog' },
    ],
  },
  {
    title: 'Library',
    items: [
      { keys: ['/'], action: 'Search' },
      { keys: ['←', '→', '↑', '↓'], action: 'Move between LoRAs' },
      { keys: ['Enter'], action: 'Open the focused LoRA' },
      { keys: ['Space'], action: 'Select / unselect the focused LoRA' },
      { keys: ['a'], action: 'Activate / deactivate the focused LoRA' },
      { keys: ['f'], action: 'Favourite / unfavourite the focused LoRA' },
      { keys: ['Ctrl', 'A'], action: 'Select every LoRA matching the filters' },
      { keys: ['v'], action: 'Switch grid / list' },
      { keys: ['PgUp', 'PgDn', 'Home', 'End'], action: 'Jump through the library' },
      { keys: ['Esc'], action: 'Close the detail panel, then clear the selection' },
    ],
  },
  {
    title: 'Generate',
    items: [
      { keys: ['Ctrl', 'Enter'], action: 'Generate now' },
      { keys: ['Ctrl', 'Shift', 'Enter'], action: 'Add to the queue' },
    ],
  },
  {
    title: 'History',
    items: [
      { keys: ['Ctrl', 'click'], action: 'Select a result' },
      { keys: ['Delete'], action: 'Delete the selected results' },
      { keys: ['Esc'], action: 'Clear the selection' },
    ],
  },
];
