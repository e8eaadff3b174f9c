/**
 * The data of `seam demo`: a small shop's customers, their transactions, 30-day activity
 * computed from the transactions, and churn labels, generated from a seed (the same seed
 * always gives the same bytes, so uploading it again finds the existing dataset versions),
 * and the feature definitions over it. Pure, so unit-tested.
 */
import { createRandom } from "@seam/kit/random";

/** One generated CSV file: its text (header line first) and its data rows. */
export interface CsvFile {
  readonly csv: string;
  readonly rows: number;
}

/** The generated customer data set. */
export interface ChurnData {
  /** customer_id, event_timestamp, country, tenure_months: a profile row per customer. */
  readonly customers: CsvFile;
  /** transaction_id, customer_id, timestamp, amount: every purchase. */
  readonly transactions: CsvFile;
  /**
   * customer_id, event_timestamp, spend_30d, txns_30d, txns_prev_30d, days_since_last_txn:
   * a weekly snapshot per customer of the 30 days before (and the 30 before those),
   * computed from the transactions.
   */
  readonly activity: CsvFile;
  /** customer_id, event_timestamp, churned: a label per customer, after the last snapshot. */
  readonly labels: CsvFile;
  /** Two customers to predict for: one who bought less and churned, one who did not. */
  readonly examples: { readonly churned: string; readonly stayed: string };
}

/** Options of {@link generateChurnData}. */
export interface ChurnDataOptions {
  /** Seed of the generator (32 bits); 42 by default. */
  readonly seed?: number;
  /** Customers; 500 by default. */
  readonly customers?: number;
}

const DAY_MS = 86_400_000;
/** The first day of the generated period. */
export const DEMO_START = Date.UTC(2024, 0, 1);
/** Days of transactions; the activity is snapshotted weekly over them. */
const DAYS = 84;
const FIRST_CUSTOMER_ID = 1001;
/** Days since the last transaction when a customer has none in the period. */
const NO_TRANSACTION_DAYS = 90;

const COUNTRIES: ReadonlyArray<{ code: string; share: number; churnEffect: number }> = [
  { code: "NL", share: 0.3, churnEffect: 0 },
  { code: "DE", share: 0.25, churnEffect: -0.3 },
  { code: "FR", share: 0.2, churnEffect: 0.4 },
  { code: "GB", share: 0.15, churnEffect: 0.1 },
  { code: "US", share: 0.1, churnEffect: 0.6 },
];

interface Customer {
  readonly id: number;
  readonly country: string;
  readonly tenureMonths: number;
  readonly churned: boolean;
  /** Whether the customer bought less over the last weeks. */
  readonly slowsDown: boolean;
  /** Transaction times (ms) and amounts, in time order. */
  readonly purchases: ReadonlyArray<{ readonly ms: number; readonly amount: number }>;
}

/**
 * Generates the customer data set. Churn is decided first, from tenure, purchase rate and
 * country plus noise; a customer who churns buys less and less over the last weeks before
 * the label, so the 30-day activity (and the profile) predict the label, not perfectly.
 */
export function generateChurnData(options: ChurnDataOptions = {}): ChurnData {
  const next = createRandom(options.seed ?? 42);
  const count = options.customers ?? 500;
  const customers: Customer[] = [];
  for (let i = 0; i < count; i++) customers.push(generateCustomer(FIRST_CUSTOMER_ID + i, next));

  const iso = (ms: number) => new Date(ms).toISOString();
  const profile = ["customer_id,event_timestamp,country,tenure_months"];
  const transactions = ["transaction_id,customer_id,timestamp,amount"];
  const activity = ["customer_id,event_timestamp,spend_30d,txns_30d,txns_prev_30d,days_since_last_txn"];
  const labels = ["customer_id,event_timestamp,churned"];
  let transactionId = 1;
  for (const c of customers) {
    profile.push(`${c.id},${iso(DEMO_START)},${c.country},${c.tenureMonths}`);
    for (const p of c.purchases) {
      transactions.push(`${transactionId++},${c.id},${iso(p.ms)},${p.amount.toFixed(2)}`);
    }
    for (let week = 1; week <= DAYS / 7; week++) {
      const at = DEMO_START + week * 7 * DAY_MS;
      const recent = c.purchases.filter((p) => p.ms <= at && p.ms > at - 30 * DAY_MS);
      const before = c.purchases.filter((p) => p.ms <= at - 30 * DAY_MS && p.ms > at - 60 * DAY_MS);
      const spend = recent.reduce((sum, p) => sum + Math.round(p.amount * 100), 0) / 100;
      const last = c.purchases.filter((p) => p.ms <= at).at(-1);
      const since = last === undefined ? NO_TRANSACTION_DAYS : (at - last.ms) / DAY_MS;
      activity.push(
        `${c.id},${iso(at)},${spend.toFixed(2)},${recent.length},${before.length},${since.toFixed(1)}`,
      );
    }
    labels.push(`${c.id},${iso(DEMO_START + DAYS * DAY_MS + DAY_MS / 2)},${c.churned}`);
  }
  const file = (lines: string[]): CsvFile => ({ csv: `${lines.join("\n")}\n`, rows: lines.length - 1 });
  // The usual cases: one who slowed down and left, one who kept buying and stayed.
  const churned = customers.find((c) => c.churned && c.slowsDown);
  const stayed = customers.find((c) => !c.churned && !c.slowsDown);
  return {
    customers: file(profile),
    transactions: file(transactions),
    activity: file(activity),
    labels: file(labels),
    examples: {
      churned: String(churned?.id ?? FIRST_CUSTOMER_ID),
      stayed: String(stayed?.id ?? FIRST_CUSTOMER_ID),
    },
  };
}

function generateCustomer(id: number, next: () => number): Customer {
  const country = pickCountry(next());
  // Many new customers, a few of many years.
  const tenureMonths = 1 + Math.floor(71 * next() ** 2);
  const perWeek = 1 + 4 * next();
  const basket = 15 + 85 * next();
  const noise = (next() + next() + next() - 1.5) * 1.5;
  const logit = 1.2 - 0.04 * tenureMonths - 0.45 * perWeek + country.churnEffect + noise;
  const churned = next() < 1 / (1 + Math.exp(-logit));
  // Most churning customers buy less and less over ten days from a day in weeks 7 to 8
  // (some leave without warning); some who stay go quiet for a while too.
  const slowsDown = churned ? next() < 0.85 : next() < 0.1;
  const slowFrom = 42 + Math.floor(14 * next());
  const slowest = churned ? 0.1 : 0.5;
  const purchases: { ms: number; amount: number }[] = [];
  for (let day = 0; day < DAYS; day++) {
    const slowdown = slowsDown ? Math.min(1, Math.max(slowest, 1 - (day - slowFrom) / 10)) : 1;
    const n = poisson((perWeek / 7) * slowdown, next);
    const times = Array.from({ length: n }, () => Math.floor(next() * 86_400) * 1000).sort((a, b) => a - b);
    for (const t of times) {
      const amount = Math.max(1, basket * (0.4 + 1.2 * next()));
      purchases.push({ ms: DEMO_START + day * DAY_MS + t, amount: Math.round(amount * 100) / 100 });
    }
  }
  return { id, country: country.code, tenureMonths, churned, slowsDown, purchases };
}

function pickCountry(u: number): (typeof COUNTRIES)[number] {
  let acc = 0;
  for (const c of COUNTRIES) {
    acc += c.share;
    if (u < acc) return c;
  }
  return COUNTRIES[COUNTRIES.length - 1] as (typeof COUNTRIES)[number];
}

/** A Poisson draw (Knuth's method: fine for the small rates here). */
function poisson(rate: number, next: () => number): number {
  if (rate <= 0) return 0;
  const limit = Math.exp(-rate);
  let k = 0;
  let p = next();
  while (p > limit) {
    k++;
    p *= next();
  }
  return k;
}

/** Names of everything `seam demo` creates: fixed, so running it again reuses them. */
export const DEMO_NAMES = {
  irisDataset: "demo-iris",
  customersDataset: "demo-customers",
  transactionsDataset: "demo-transactions",
  activityDataset: "demo-customer-activity",
  labelsDataset: "demo-churn-labels",
  entity: "demo_customer",
  profileView: "demo_customer_profile",
  activityView: "demo_customer_activity",
  featureService: "demo_churn",
  irisModel: "demo-iris",
  churnModel: "demo-churn",
} as const;

/**
 * The feature definitions of the demo, as a `seam features apply` file: the customer
 * entity, a view of the profile and one of the 30-day activity, and the feature service
 * the churn model reads.
 */
export const FEATURES_YAML = `entities:
  - name: ${DEMO_NAMES.entity}
    join_keys: [{ name: customer_id, type: int64 }]
    description: a customer of the demo shop
feature_views:
  - name: ${DEMO_NAMES.profileView}
    entities: [${DEMO_NAMES.entity}]
    features: [{ name: country, type: string }, { name: tenure_months, type: int64 }]
    source: { dataset: ${DEMO_NAMES.customersDataset}, timestamp_column: event_timestamp }
  - name: ${DEMO_NAMES.activityView}
    entities: [${DEMO_NAMES.entity}]
    features:
      - { name: spend_30d, type: float64 }
      - { name: txns_30d, type: int64 }
      - { name: txns_prev_30d, type: int64 }
      - { name: days_since_last_txn, type: float64 }
    source: { dataset: ${DEMO_NAMES.activityDataset}, timestamp_column: event_timestamp }
feature_services:
  - name: ${DEMO_NAMES.featureService}
    features: [{ feature_view: ${DEMO_NAMES.profileView} }, { feature_view: ${DEMO_NAMES.activityView} }]
    description: the features the churn model reads
`;
