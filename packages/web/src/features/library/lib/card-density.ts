import type { CardDensity } from '../../../stores/settings.store.ts';

/**
 * The library's card sizes. Each names the narrowest a card may be (the grid fits as many columns as that allows)
 * and its height per pixel of width; what a card shows grows with it (compact: name, base model, network, rating,
 * the rest on hover; comfortable: trigger words too; large: tags as well).
 */
export interface DensitySpec {
  label: string;
  minWidth: number;
  heightRatio: number;
  /** Trigger words shown on the card itself (compact shows them on hover only). */
  triggers: number;
  /** Tags shown on the card itself. */
  tags: number;
}

export const CARD_DENSITIES: Record<CardDensity, DensitySpec> = {
  compact: { label: 'Compact cards', minWidth: 140, heightRatio: 1.15, triggers: 0, tags: 0 },
  comfortable: { label: 'Comfortable cards', minWidth: 170, heightRatio: 1.3, triggers: 3, tags: 0 },
  large: { label: 'Large cards', minWidth: 260, heightRatio: 1.3, triggers: 6, tags: 6 },
};

/** The view picker's choices: three card sizes and the dense list. */
export const VIEW_CHOICES: Array<{ label: string; value: CardDensity | 'list' }> = [
  ...(Object.entries(CARD_DENSITIES) as Array<[CardDensity, DensitySpec]>).map(([value, d]) => ({ label: d.label, value })),
  { label: 'Dense list', value: 'list' },
];

/** The list view's row height: one line of name and one of tags or triggers. */
export const LIST_ROW_HEIGHT = 48;
