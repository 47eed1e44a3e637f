/*
 * The fast path of the safetensors header reader (src/lib/safetensors.ts), in C for the library scan: a first scan
 * reads and validates about 2 GB of header JSON for 10,000 LoRA files, which JavaScript cannot touch byte by byte
 * inside the scan budget.
 *
 * It only ever says "valid, and here is the table" or "not sure": any input it does not take whole (an error, an
 * escape or a non-ASCII byte in a tensor name, spaces inside an entry, a field order other than the writers',
 * more than four dimensions, an integer beyond 2^53, ...) returns STATUS_FALLBACK and the JavaScript reader reads
 * the file again and decides, with its typed errors. So this file never produces an error message of its own, and a
 * differential fuzz test checks that every header it accepts is one the JavaScript reader accepts with the same
 * table.
 *
 * The table is written into columns owned by JavaScript (the TensorTable typed arrays), so nothing is allocated
 * per tensor on either side. `__metadata__` is located, not decoded: JavaScript parses that span.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { STATUS_OK = 0, STATUS_GROW = 1, STATUS_FALLBACK = 2 };

#define MAX_DIMS_INLINE 4
#define MAX_SAFE_INTEGER 9007199254740991ULL
#define MAX_DTYPES 64
#define MAX_PATH_BYTES 4096

/*
 * Dtype names and bits per element, in the order of DTYPE_BITS in safetensors.ts (codes are indices), set by
 * configure(). One per JavaScript environment (each reader thread has its own), kept as the addon's instance data.
 */
typedef struct {
  char names[MAX_DTYPES][16];
  uint8_t lengths[MAX_DTYPES];
  uint16_t bits[MAX_DTYPES];
  int count;
} Dtypes;

/* The JavaScript TensorTable columns of one read. */
typedef struct {
  double *begin, *end, *elements, *dims;
  int32_t *name_start, *name_end, *name_hash;
  uint8_t *name_escaped, *dtype_code, *ndim;
  uint32_t *order;
  size_t capacity;
} Columns;

typedef struct {
  const uint8_t *b;
  size_t i, n;
  const Dtypes *dtypes;
  int last_dtype;
} Cursor;

static inline int peek(const Cursor *c) { return c->i < c->n ? c->b[c->i] : -1; }

static inline void skip_ws(Cursor *c) {
  while (c->i < c->n) {
    uint8_t ch = c->b[c->i];
    if (ch != 0x20 && ch != 0x0a && ch != 0x0d && ch != 0x09) break;
    c->i++;
  }
}

static inline uint64_t load64(const void *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* Consume `text` if the bytes at the cursor are exactly it. Inlined with a literal, it becomes a few word compares. */
static inline __attribute__((always_inline)) int match(Cursor *c, const char *text, size_t len) {
  if (c->n - c->i < len) return 0;
  const uint8_t *p = c->b + c->i;
  size_t k = 0;
  for (; k + 8 <= len; k += 8) {
    if (load64(p + k) != load64(text + k)) return 0;
  }
  for (; k < len; k++) {
    if (p[k] != (uint8_t)text[k]) return 0;
  }
  c->i += len;
  return 1;
}

/* A non-negative integer as the JavaScript compact path reads it: digits only, no leading zero, at most 2^53 - 1. */
static int read_uint_bytewise(Cursor *c, uint64_t *out) {
  const uint8_t *b = c->b;
  size_t i = c->i, n = c->n;
  uint64_t value = 0;
  if (i < n && b[i] == '0') {
    i++;
  } else if (i < n && b[i] >= '1' && b[i] <= '9') {
    /* 16 digits cannot pass 2^53; the 17th is checked. */
    size_t first = i;
    while (i < n && b[i] >= '0' && b[i] <= '9') {
      value = value * 10 + (uint64_t)(b[i] - '0');
      if (++i - first >= 16 && value > MAX_SAFE_INTEGER / 10) break;
    }
    if (value > MAX_SAFE_INTEGER) return 0;
  } else {
    return 0;
  }
  int ch = i < n ? b[i] : -1;
  if (ch == '.' || ch == 'e' || ch == 'E' || (ch >= '0' && ch <= '9')) return 0;
  c->i = i;
  *out = value;
  return 1;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WORD_DIGITS 1
static const uint64_t ONES = 0x0101010101010101ULL;

/* A byte below '0' or above '9' sets its high bit; carries and borrows only reach the bytes after it. */
static inline uint64_t non_digits(uint64_t w) { return ((w + ONES * 0x46) | (w - ONES * '0')) & (ONES * 0x80); }

/* The number written by the first `digits` (1 to 8) bytes of a word of digit values, the first most significant. */
static inline uint64_t digits_value(uint64_t values, unsigned digits) {
  uint64_t v = digits < 8 ? values << (8 * (8 - digits)) : values; /* leading zeros in front */
  v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFULL;
  v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFULL;
  return (v * 10000 + (v >> 32)) & 0xFFFFFFFFULL;
}

static const uint64_t POW10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
#endif

/*
 * The same, for the numbers a header is made of (shapes, offsets): the digits of up to two words are found and
 * converted a word at a time, so numbers of up to 15 digits take no loop. Longer ones, and numbers near the end of
 * the buffer, are read byte by byte.
 */
static inline int read_uint(Cursor *c, uint64_t *out) {
#ifdef WORD_DIGITS
  const uint8_t *p = c->b + c->i;
  size_t room = c->n - c->i;
  if (room >= 8) {
    uint64_t first = load64(p), ends = non_digits(first), value;
    unsigned digits;
    if (ends) {
      digits = (unsigned)__builtin_ctzll(ends) >> 3;
      if (digits == 0) return 0;
      value = digits_value(first - ONES * '0', digits);
    } else if (room >= 16 && (ends = non_digits(load64(p + 8))) != 0) {
      unsigned more = (unsigned)__builtin_ctzll(ends) >> 3;
      digits = 8 + more;
      value = digits_value(first - ONES * '0', 8);
      if (more) value = value * POW10[more] + digits_value(load64(p + 8) - ONES * '0', more);
    } else {
      return read_uint_bytewise(c, out);
    }
    int after = p[digits];
    if ((digits > 1 && p[0] == '0') || after == '.' || after == 'e' || after == 'E') return 0;
    c->i += digits;
    *out = value;
    return 1;
  }
#endif
  return read_uint_bytewise(c, out);
}

/* Skip a JSON string whose opening quote is at the cursor. Control characters are left to JavaScript. */
static int skip_string(Cursor *c) {
  if (peek(c) != '"') return 0;
  c->i++;
  while (c->i < c->n) {
    uint8_t ch = c->b[c->i];
    if (ch == '"') {
      c->i++;
      return 1;
    }
    if (ch < 0x20) return 0;
    c->i += ch == '\\' ? 2 : 1;
  }
  return 0;
}

/* Does the word hold a byte that ends a plain name: a control character, `"`, `\\` or a non-ASCII byte? */
static inline uint64_t ends_plain_run(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
  return (((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | w) & highs;
}

/*
 * The end of the plain ASCII bytes that start at `i`: the first control character, `"`, `\\` or non-ASCII byte.
 * Tensor names are long (`lora_unet_..._to_out_0.lora_down.weight`): they are scanned sixteen bytes at a time.
 */
static inline size_t plain_run_end(const uint8_t *b, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(b + i));
    /* A signed compare: bytes of 0x80 and above are negative, so "below 0x20" also finds non-ASCII bytes. */
    __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), _mm_cmplt_epi8(v, space));
    unsigned mask = (unsigned)_mm_movemask_epi8(stop);
    if (mask) return i + (size_t)__builtin_ctz(mask);
  }
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t stop = ends_plain_run(load64(b + i));
    if (stop) return i + ((size_t)__builtin_ctzll(stop) >> 3);
  }
  while (i < n && b[i] >= 0x20 && b[i] < 0x80 && b[i] != '"' && b[i] != '\\') i++;
  return i;
}

/*
 * A hash of name bytes for the duplicate check: a function of the bytes alone (a name hashes the same wherever it
 * is), taken eight at a time, the last eight overlapping when the length is not a multiple of eight.
 */
static inline uint32_t name_hash(const uint8_t *p, size_t len) {
  const uint64_t k = 0x9e3779b97f4a7c15ULL;
  uint64_t h = (uint64_t)len * k;
  if (len >= 8) {
    size_t i = 0;
    for (; i + 8 <= len; i += 8) h = (h ^ load64(p + i)) * k;
    if (i < len) h = (h ^ load64(p + len - 8)) * k;
  } else {
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * k;
  }
  return (uint32_t)(h ^ (h >> 32));
}

/* `null` or an object of string values; only its extent is found here. */
static int skip_metadata(Cursor *c) {
  if (match(c, "null", 4)) return 1;
  if (peek(c) != '{') return 0;
  c->i++;
  skip_ws(c);
  if (peek(c) == '}') {
    c->i++;
    return 1;
  }
  for (;;) {
    if (!skip_string(c)) return 0;
    skip_ws(c);
    if (peek(c) != ':') return 0;
    c->i++;
    skip_ws(c);
    if (!skip_string(c)) return 0;
    skip_ws(c);
    int ch = peek(c);
    c->i++;
    if (ch == '}') return 1;
    if (ch != ',') return 0;
    skip_ws(c);
  }
}

/* The dtype string at the cursor as its code, or -1. F16, BF16 and F32 (nearly every LoRA) are tried first. */
static int dtype_at(Cursor *c) {
  if (peek(c) != '"') return -1;
  const uint8_t *start = c->b + c->i + 1;
  size_t room = c->n - c->i - 1, len = 0;
  const Dtypes *dtypes = c->dtypes;
  while (len < room && len < sizeof dtypes->names[0] && start[len] != '"') len++;
  if (len == room || len == sizeof dtypes->names[0]) return -1;
  /* A file nearly always has one dtype throughout: try the previous entry's first. */
  int last = c->last_dtype;
  if (dtypes->lengths[last] == len && memcmp(start, dtypes->names[last], len) == 0) {
    c->i += len + 2;
    return last;
  }
  for (int d = 0; d < dtypes->count; d++) {
    if (dtypes->lengths[d] == len && memcmp(start, dtypes->names[d], len) == 0) {
      c->i += len + 2;
      c->last_dtype = d;
      return d;
    }
  }
  return -1;
}

/* `"name":{"dtype":"F16","shape":[a,b],"data_offsets":[x,y]}` exactly as writers emit it, into row `row`. */
static int tensor_entry(Cursor *c, const Columns *t, size_t row, size_t name_start, size_t name_end) {
  if (!match(c, "{\"dtype\":", 9)) return 0;
  int dtype = dtype_at(c);
  if (dtype < 0) return 0;
  if (!match(c, ",\"shape\":[", 10)) return 0;
  int ndim = 0;
  uint64_t count = 1;
  double *dims = t->dims + row * MAX_DIMS_INLINE;
  if (peek(c) == ']') {
    c->i++;
  } else {
    for (;;) {
      uint64_t d;
      if (ndim == MAX_DIMS_INLINE || !read_uint(c, &d)) return 0;
      dims[ndim++] = (double)d;
      /* Both factors are below 2^53; JavaScript decides about products beyond it. */
      if (__builtin_mul_overflow(count, d, &count) || count > MAX_SAFE_INTEGER) return 0;
      int ch = peek(c);
      c->i++;
      if (ch == ']') break;
      if (ch != ',') return 0;
    }
  }
  uint64_t begin, end;
  if (!match(c, ",\"data_offsets\":[", 17) || !read_uint(c, &begin) || !match(c, ",", 1) || !read_uint(c, &end) ||
      !match(c, "]}", 2)) {
    return 0;
  }
  t->name_start[row] = (int32_t)name_start;
  t->name_end[row] = (int32_t)name_end;
  t->name_escaped[row] = 0;
  t->dtype_code[row] = (uint8_t)dtype;
  t->ndim[row] = (uint8_t)ndim;
  t->elements[row] = (double)count;
  t->begin[row] = (double)begin;
  t->end[row] = (double)end;
  return 1;
}

/* Does name `r` sort strictly after name `r - 1` (bytes, then length)? */
static inline int after_previous(const uint8_t *b, const Columns *t, size_t r) {
  size_t a = (size_t)t->name_start[r - 1], la = (size_t)(t->name_end[r - 1] - t->name_start[r - 1]);
  size_t c = (size_t)t->name_start[r], lc = (size_t)(t->name_end[r] - t->name_start[r]);
  int order = memcmp(b + a, b + c, la < lc ? la : lc);
  return order < 0 || (order == 0 && la < lc);
}

/*
 * Any two tensors with the same name? (JavaScript refuses the file; here it is only a reason to fall back.) Writers
 * emit names in sorted order, and names in strictly increasing order cannot repeat: that is checked first, pair by
 * pair. Only a header in another order has its names hashed into a table.
 */
static int has_duplicates(const uint8_t *b, const Columns *t, size_t count) {
  size_t r = 1;
  while (r < count && after_previous(b, t, r)) r++;
  if (r >= count) return 0;
  size_t size = 16;
  while (size < count * 2) size <<= 1;
  uint32_t *slots = malloc(size * sizeof(uint32_t)); /* row + 1; 0 is empty */
  if (!slots) return 1;
  memset(slots, 0, size * sizeof(uint32_t));
  for (r = 0; r < count; r++) t->name_hash[r] = (int32_t)name_hash(b + t->name_start[r], (size_t)(t->name_end[r] - t->name_start[r]));
  size_t mask = size - 1;
  int duplicate = 0;
  for (r = 0; r < count && !duplicate; r++) {
    uint32_t h = (uint32_t)t->name_hash[r];
    size_t k = (h ^ (h >> 15)) & mask;
    while (slots[k]) {
      size_t o = slots[k] - 1;
      size_t len = (size_t)(t->name_end[r] - t->name_start[r]);
      if ((uint32_t)t->name_hash[o] == h && (size_t)(t->name_end[o] - t->name_start[o]) == len &&
          memcmp(b + t->name_start[o], b + t->name_start[r], len) == 0) {
        duplicate = 1;
        break;
      }
      k = (k + 1) & mask;
    }
    slots[k] = (uint32_t)r + 1;
  }
  free(slots);
  return duplicate;
}

typedef struct {
  double begin, end;
  uint32_t row;
} Span;

static int compare_spans(const void *a, const void *b) {
  const Span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* The reference's Metadata::validate: contiguous offsets from 0, sizes that match shapes, the exact file length. */
static int validate(const Columns *t, const Dtypes *dtypes, size_t count, uint64_t header_length, uint64_t file_size) {
  int sorted = 1;
  for (size_t r = 0; r < count; r++) {
    t->order[r] = (uint32_t)r;
    if (r > 0 && (t->begin[r] < t->begin[r - 1] || (t->begin[r] == t->begin[r - 1] && t->end[r] < t->end[r - 1]))) {
      sorted = 0;
    }
  }
  if (!sorted) {
    Span *spans = malloc(count * sizeof(Span));
    if (!spans) return 0;
    for (size_t r = 0; r < count; r++) spans[r] = (Span){t->begin[r], t->end[r], (uint32_t)r};
    qsort(spans, count, sizeof(Span), compare_spans);
    for (size_t r = 0; r < count; r++) t->order[r] = spans[r].row;
    free(spans);
  }
  uint64_t start = 0;
  for (size_t k = 0; k < count; k++) {
    uint32_t r = t->order[k];
    uint64_t begin = (uint64_t)t->begin[r], end = (uint64_t)t->end[r];
    if (begin != start || end < begin) return 0;
    uint64_t elements = (uint64_t)t->elements[r];
    uint64_t bits = dtypes->bits[t->dtype_code[r]], total;
    if (__builtin_mul_overflow(elements, bits, &total) || total > MAX_SAFE_INTEGER || total % 8 != 0 ||
        end - begin != total / 8) {
      return 0;
    }
    start = end;
  }
  return 8 + header_length + start == file_size;
}

/* The whole header: `{` entries `}` then the writers' space padding. */
static int parse_header(const uint8_t *b, size_t n, const Dtypes *dtypes, const Columns *t, size_t *count_out,
                        int64_t *meta_start, int64_t *meta_end) {
  Cursor c = {b, 0, n, dtypes, 0};
  size_t count = 0;
  int saw_metadata = 0;
  *meta_start = *meta_end = -1;
  skip_ws(&c);
  if (peek(&c) != '{') return 0;
  c.i++;
  skip_ws(&c);
  if (peek(&c) == '}') {
    c.i++;
  } else {
    for (;;) {
      if (peek(&c) != '"') return 0;
      size_t name_start = ++c.i;
      c.i = plain_run_end(b, c.i, n);
      if (peek(&c) != '"') return 0;
      size_t name_end = c.i++;
      if (peek(&c) != ':') return 0;
      c.i++;
      if (name_end - name_start == 12 && memcmp(b + name_start, "__metadata__", 12) == 0) {
        if (saw_metadata) return 0;
        saw_metadata = 1;
        skip_ws(&c);
        *meta_start = (int64_t)c.i;
        if (!skip_metadata(&c)) return 0;
        *meta_end = (int64_t)c.i;
      } else {
        if (count == t->capacity) return 0;
        if (!tensor_entry(&c, t, count, name_start, name_end)) return 0;
        count++;
      }
      skip_ws(&c);
      int ch = peek(&c);
      c.i++;
      if (ch == '}') break;
      if (ch != ',') return 0;
      skip_ws(&c);
    }
  }
  skip_ws(&c);
  if (c.i != n) return 0;
  *count_out = count;
  return 1;
}

static int read_fully(int fd, uint8_t *into, size_t length, off_t position) {
  size_t done = 0;
  while (done < length) {
    ssize_t got = pread(fd, into + done, length - done, position + (off_t)done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 0;
    done += (size_t)got;
  }
  return 1;
}

/* ---- kohya module names → network and base-model evidence (network-inference.ts, the kohya case) ---- */

/*
 * kohya sd-scripts and LyCORIS name every tensor `lora_unet_<block>…` or `lora_te…` followed by `.lora_down.weight`,
 * `.lora_up.weight`, `.alpha`, or a LyCORIS suffix (`.hada_w1_a`, `.lokr_w1`, `.dora_scale`, `.lora_mid.weight`…).
 * For those this walk gathers what inferFromTensors' JavaScript walk gathers, in the same order, and answers with
 * the same counters; at the first name it does not know (diffusers, PEFT, GLoRA/OFT/IA3, checkpoints) it gives up
 * and the JavaScript walk runs instead. A differential test compares both on every generated layout.
 */
enum {
  EV_LORA, EV_CONV, EV_MID, EV_LOHA, EV_LOKR, EV_DORA, EV_NORM, EV_RANK, EV_ALPHA_ROW, EV_FLUX, EV_MAX_DOUBLE,
  EV_MAX_SINGLE, EV_SD3, EV_SD3_WIDTH, EV_SGM, EV_TE2, EV_DIFFUSERS_UNET, EV_TE1_ONLY, EV_WAN, EV_CROSS_WIDTH,
  EV_TE_WIDTH, EV_FIELDS
};

#define MAX_DISTINCT 64

/* A tally of positive values; `mode` answers as network-inference.ts's mode(): most frequent, ties to the larger. */
typedef struct {
  double value[MAX_DISTINCT];
  uint32_t count[MAX_DISTINCT];
  int size, overflow;
} Histogram;

static void tally(Histogram *h, double value) {
  if (!(value > 0)) return;
  for (int k = 0; k < h->size; k++) {
    if (h->value[k] == value) {
      h->count[k]++;
      return;
    }
  }
  if (h->size == MAX_DISTINCT) {
    h->overflow = 1;
    return;
  }
  h->value[h->size] = value;
  h->count[h->size++] = 1;
}

static double mode(const Histogram *h) {
  double best = -1;
  uint32_t best_count = 0;
  for (int k = 0; k < h->size; k++) {
    if (h->count[k] > best_count || (h->count[k] == best_count && h->value[k] > best)) {
      best = h->value[k];
      best_count = h->count[k];
    }
  }
  return best;
}

static inline int ends_with(const uint8_t *b, size_t start, size_t end, const char *suffix, size_t len) {
  return end - start >= len && memcmp(b + end - len, suffix, len) == 0;
}

static inline int has_at(const uint8_t *b, size_t start, size_t end, size_t at, const char *text, size_t len) {
  return end - start >= at + len && memcmp(b + start + at, text, len) == 0;
}

/* The decimal number at `at`, or -1 (nameNumberAt). */
static double number_at(const uint8_t *b, size_t start, size_t end, size_t at) {
  double n = -1;
  for (size_t k = start + at; k < end && b[k] >= '0' && b[k] <= '9'; k++) n = (n < 0 ? 0 : n * 10) + (b[k] - '0');
  return n;
}

#define LIT(text) text, sizeof text - 1

typedef struct {
  double *ev;
  Histogram ranks, cross, te_widths;
  int cross_samples;
} Walk;

/*
 * FamilyEvidence.observe for a kohya name: `stem_end` is where the name ends without its suffix, `in_width` the
 * module's input width (0 when unknown). Returns 0 for a name without a kohya prefix.
 */
static int observe(Walk *w, const uint8_t *b, size_t start, size_t end, size_t stem_end, double in_width) {
  double *ev = w->ev;
  if (has_at(b, start, end, 0, LIT("lora_unet_"))) {
    const size_t at = sizeof "lora_unet_" - 1;
    if (has_at(b, start, end, at, LIT("double_blocks_"))) {
      ev[EV_FLUX]++;
      double n = number_at(b, start, end, at + sizeof "double_blocks_" - 1);
      if (n > ev[EV_MAX_DOUBLE]) ev[EV_MAX_DOUBLE] = n;
    } else if (has_at(b, start, end, at, LIT("single_blocks_"))) {
      ev[EV_FLUX]++;
      double n = number_at(b, start, end, at + sizeof "single_blocks_" - 1);
      if (n > ev[EV_MAX_SINGLE]) ev[EV_MAX_SINGLE] = n;
    } else if (has_at(b, start, end, at, LIT("joint_blocks_"))) {
      ev[EV_SD3]++;
      if (in_width > 0 && ev[EV_SD3_WIDTH] == 0 && ends_with(b, start, stem_end, LIT("x_block_attn_qkv"))) {
        ev[EV_SD3_WIDTH] = in_width;
      }
    } else if (has_at(b, start, end, at, LIT("input_blocks_")) || has_at(b, start, end, at, LIT("output_blocks_")) ||
               has_at(b, start, end, at, LIT("middle_block_"))) {
      ev[EV_SGM]++;
    } else if (has_at(b, start, end, at, LIT("down_blocks_")) || has_at(b, start, end, at, LIT("up_blocks_")) ||
               has_at(b, start, end, at, LIT("mid_block_"))) {
      ev[EV_DIFFUSERS_UNET]++;
      if (in_width > 0 && w->cross_samples < 8 &&
          (ends_with(b, start, stem_end, LIT("attn2_to_k")) || ends_with(b, start, stem_end, LIT("attn2_to_v")))) {
        w->cross_samples++;
        tally(&w->cross, in_width);
      }
    } else if (has_at(b, start, end, at, LIT("blocks_"))) {
      ev[EV_WAN]++;
    }
    return 1;
  }
  if (has_at(b, start, end, 0, LIT("lora_te"))) {
    if (has_at(b, start, end, 7, LIT("2_"))) ev[EV_TE2]++;
    else if (has_at(b, start, end, 7, LIT("1_"))) ev[EV_TE1_ONLY]++;
    else if (in_width > 0 && w->te_widths.size < 4 && ends_with(b, start, stem_end, LIT("mlp_fc1"))) tally(&w->te_widths, in_width);
    return 1;
  }
  return 0;
}

/* TensorTable.nameTail: the last dot-separated part, or the last two when the last looks like `weight` or `bias`. */
static size_t tail_start(const uint8_t *b, size_t start, size_t end) {
  size_t k = end;
  while (k > start && b[k - 1] != '.') k--;
  size_t last = k, len = end - last;
  /* JavaScript's k is this k - 1; "k > start" there is "k > start + 1" here. */
  if (k > start + 1 && ((len == 6 && b[last] == 'w' && b[last + 5] == 't') || (len == 4 && b[last] == 'b' && b[last + 3] == 's'))) {
    k--;
    while (k > start && b[k - 1] != '.') k--;
  }
  return k;
}

static inline int tail_is(const uint8_t *b, size_t tail, size_t end, const char *text, size_t len) {
  return end - tail == len && memcmp(b + tail, text, len) == 0;
}

static int kohya_evidence(const uint8_t *b, size_t count, const Columns *t, double *ev) {
  Walk w = {.ev = ev};
  for (int k = 0; k < EV_FIELDS; k++) ev[k] = 0;
  ev[EV_ALPHA_ROW] = ev[EV_MAX_DOUBLE] = ev[EV_MAX_SINGLE] = -1;
  for (size_t r = 0; r < count; r++) {
    if (t->name_escaped[r]) return 0;
    size_t start = (size_t)t->name_start[r], end = (size_t)t->name_end[r];
    int ndim = t->ndim[r];
    const double *dims = t->dims + r * MAX_DIMS_INLINE;
    if (ends_with(b, start, end, LIT(".lora_up.weight"))) continue;
    if (ends_with(b, start, end, LIT(".alpha"))) {
      if (ev[EV_ALPHA_ROW] < 0 && ndim == 0) ev[EV_ALPHA_ROW] = (double)r;
      continue;
    }
    if (ends_with(b, start, end, LIT(".lora_down.weight"))) {
      ev[EV_LORA]++;
      if (ndim >= 1) tally(&w.ranks, dims[0]);
      if (ndim == 4 && (dims[2] > 1 || dims[3] > 1)) ev[EV_CONV]++;
      if (!observe(&w, b, start, end, end - (sizeof ".lora_down.weight" - 1), ndim >= 2 ? dims[1] : 0)) return 0;
      continue;
    }
    size_t tail = tail_start(b, start, end);
    if (tail_is(b, tail, end, LIT("lora_mid.weight"))) {
      ev[EV_MID]++;
    } else if (tail_is(b, tail, end, LIT("hada_w1_a")) || tail_is(b, tail, end, LIT("hada_w1_b")) ||
               tail_is(b, tail, end, LIT("hada_w2_a")) || tail_is(b, tail, end, LIT("hada_w2_b")) ||
               tail_is(b, tail, end, LIT("hada_t1")) || tail_is(b, tail, end, LIT("hada_t2"))) {
      ev[EV_LOHA]++;
      if (ends_with(b, start, end, LIT(".hada_w1_b"))) {
        if (ndim >= 1) tally(&w.ranks, dims[0]);
      } else if (ends_with(b, start, end, LIT(".hada_w1_a")) && !observe(&w, b, start, end, end - (sizeof ".hada_w1_a" - 1), 0)) {
        return 0;
      }
    } else if (tail_is(b, tail, end, LIT("lokr_w1")) || tail_is(b, tail, end, LIT("lokr_w1_a")) ||
               tail_is(b, tail, end, LIT("lokr_w1_b")) || tail_is(b, tail, end, LIT("lokr_w2")) ||
               tail_is(b, tail, end, LIT("lokr_w2_a")) || tail_is(b, tail, end, LIT("lokr_w2_b")) ||
               tail_is(b, tail, end, LIT("lokr_t2"))) {
      ev[EV_LOKR]++;
      if (ends_with(b, start, end, LIT(".lokr_w2_a"))) {
        if (ndim >= 2) tally(&w.ranks, dims[1]);
      } else if (ends_with(b, start, end, LIT(".lokr_w1")) && !observe(&w, b, start, end, end - (sizeof ".lokr_w1" - 1), 0)) {
        return 0;
      }
    } else if (tail_is(b, tail, end, LIT("dora_scale"))) {
      ev[EV_DORA]++;
    } else if (tail_is(b, tail, end, LIT("w_norm")) || tail_is(b, tail, end, LIT("b_norm"))) {
      ev[EV_NORM]++;
    } else {
      return 0; /* a convention the JavaScript walk knows (diffusers, PEFT, other LyCORIS kinds, checkpoints) */
    }
  }
  if (w.ranks.overflow || w.cross.overflow || w.te_widths.overflow) return 0;
  ev[EV_RANK] = mode(&w.ranks);
  ev[EV_CROSS_WIDTH] = mode(&w.cross);
  ev[EV_TE_WIDTH] = mode(&w.te_widths);
  return 1;
}

/* ---- N-API glue ---- */

#define CHECK(call)                                                                                                   \
  do {                                                                                                                \
    if ((call) != napi_ok) return NULL;                                                                               \
  } while (0)

/* The data of a typed array of this type holding at least `min_length` elements, or NULL. */
static void *typed_data(napi_env env, napi_value value, napi_typedarray_type expected, size_t min_length, size_t *length) {
  napi_typedarray_type type;
  size_t count;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &count, &data, NULL, NULL) != napi_ok) return NULL;
  if (type != expected || count < min_length) return NULL;
  if (length) *length = count;
  return data;
}

static napi_value status_value(napi_env env, int status) {
  napi_value out;
  napi_create_int32(env, status, &out);
  return out;
}

/*
 * read(path, raw, maxHeaderSize, out, begin, end, elements, dims, nameStart, nameEnd, nameHash, nameEscaped,
 *      dtypeCode, ndim, order) → status
 * out (Float64Array): [headerLength, fileSize, tensorCount, metadataStart, metadataEnd]. STATUS_GROW: `raw` or the
 * columns are too small for a header of out[0] bytes; enlarge them and call again.
 */
static napi_value read_header(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Dtypes *dtypes = NULL;
  if (argc < 15 || napi_get_instance_data(env, (void **)&dtypes) != napi_ok || !dtypes || dtypes->count == 0) {
    return status_value(env, STATUS_FALLBACK);
  }

  char path[MAX_PATH_BYTES];
  size_t path_length;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_length) != napi_ok ||
      path_length >= sizeof path - 1) {
    return status_value(env, STATUS_FALLBACK);
  }
  size_t raw_length = 0, capacity = 0;
  uint8_t *raw = typed_data(env, argv[1], napi_uint8_array, 0, &raw_length);
  double max_header_size;
  CHECK(napi_get_value_double(env, argv[2], &max_header_size));
  double *out = typed_data(env, argv[3], napi_float64_array, 5, NULL);
  /* Every column must hold as many rows as nameStart (dims four a row), whatever the caller passed. */
  typed_data(env, argv[8], napi_int32_array, 0, &capacity);
  Columns t = {
      .begin = typed_data(env, argv[4], napi_float64_array, capacity, NULL),
      .end = typed_data(env, argv[5], napi_float64_array, capacity, NULL),
      .elements = typed_data(env, argv[6], napi_float64_array, capacity, NULL),
      .dims = typed_data(env, argv[7], napi_float64_array, capacity * MAX_DIMS_INLINE, NULL),
      .name_start = typed_data(env, argv[8], napi_int32_array, capacity, NULL),
      .name_end = typed_data(env, argv[9], napi_int32_array, capacity, NULL),
      .name_hash = typed_data(env, argv[10], napi_int32_array, capacity, NULL),
      .name_escaped = typed_data(env, argv[11], napi_uint8_array, capacity, NULL),
      .dtype_code = typed_data(env, argv[12], napi_uint8_array, capacity, NULL),
      .ndim = typed_data(env, argv[13], napi_uint8_array, capacity, NULL),
      .order = typed_data(env, argv[14], napi_uint32_array, capacity, NULL),
  };
  t.capacity = capacity;
  if (!raw || !out || !t.begin || !t.end || !t.elements || !t.dims || !t.name_start ||
      !t.name_end || !t.name_hash || !t.name_escaped || !t.dtype_code || !t.ndim || !t.order) {
    return status_value(env, STATUS_FALLBACK);
  }

  int status = STATUS_FALLBACK;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return status_value(env, STATUS_FALLBACK);
  struct stat st;
  uint8_t prefix[8];
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 8 && read_fully(fd, prefix, 8, 0)) {
    uint64_t header_length = 0;
    for (int k = 7; k >= 0; k--) header_length = (header_length << 8) | prefix[k];
    uint64_t file_size = (uint64_t)st.st_size;
    if ((double)header_length <= max_header_size && header_length <= file_size - 8) {
      out[0] = (double)header_length;
      out[1] = (double)file_size;
      /* Every entry takes at least 48 bytes, so this many rows always suffice. */
      size_t rows_needed = (size_t)(header_length / 48) + 2;
      if (header_length > raw_length || rows_needed > t.capacity) {
        status = STATUS_GROW;
      } else if (read_fully(fd, raw, (size_t)header_length, 8)) {
        size_t count;
        int64_t meta_start, meta_end;
        if (parse_header(raw, (size_t)header_length, dtypes, &t, &count, &meta_start, &meta_end) &&
            !has_duplicates(raw, &t, count) && validate(&t, dtypes, count, header_length, file_size)) {
          out[2] = (double)count;
          out[3] = (double)meta_start;
          out[4] = (double)meta_end;
          status = STATUS_OK;
        }
      }
    }
  }
  close(fd);
  return status_value(env, status);
}

/*
 * kohyaEvidence(raw, count, nameStart, nameEnd, nameEscaped, ndim, dims, out) → 1 when every tensor has a kohya
 * name and `out` (Float64Array of EV_FIELDS) holds the counters, else 0.
 */
static napi_value kohya_evidence_js(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) return status_value(env, 0);
  size_t raw_length = 0;
  double count;
  CHECK(napi_get_value_double(env, argv[1], &count));
  if (!(count >= 0 && count <= 4294967295.0)) return status_value(env, 0);
  size_t rows = (size_t)count;
  Columns t = {0};
  const uint8_t *raw = typed_data(env, argv[0], napi_uint8_array, 0, &raw_length);
  t.name_start = typed_data(env, argv[2], napi_int32_array, rows, NULL);
  t.name_end = typed_data(env, argv[3], napi_int32_array, rows, NULL);
  t.name_escaped = typed_data(env, argv[4], napi_uint8_array, rows, NULL);
  t.ndim = typed_data(env, argv[5], napi_uint8_array, rows, NULL);
  t.dims = typed_data(env, argv[6], napi_float64_array, rows * MAX_DIMS_INLINE, NULL);
  double *out = typed_data(env, argv[7], napi_float64_array, EV_FIELDS, NULL);
  if (!raw || !t.name_start || !t.name_end || !t.name_escaped || !t.ndim || !t.dims || !out) return status_value(env, 0);
  for (size_t r = 0; r < (size_t)count; r++) {
    if (t.name_start[r] < 0 || t.name_end[r] < t.name_start[r] || (size_t)t.name_end[r] > raw_length) return status_value(env, 0);
  }
  return status_value(env, kohya_evidence(raw, (size_t)count, &t, out));
}

static void free_dtypes(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* configure(names: string[], bits: number[]): the dtype table, in DTYPE_BITS order (codes are its indices). */
static napi_value configure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  /* One table per environment, allocated on first use (a replaced table's finalizer would not run). */
  Dtypes *dtypes = NULL;
  CHECK(napi_get_instance_data(env, (void **)&dtypes));
  if (!dtypes) {
    dtypes = calloc(1, sizeof(Dtypes));
    if (!dtypes) return NULL;
    if (napi_set_instance_data(env, dtypes, free_dtypes, NULL) != napi_ok) {
      free(dtypes);
      return NULL;
    }
  }
  uint32_t count = 0;
  int ok = napi_get_array_length(env, argv[0], &count) == napi_ok;
  if (count > MAX_DTYPES) count = MAX_DTYPES;
  for (uint32_t d = 0; ok && d < count; d++) {
    napi_value name, bits;
    size_t length = 0;
    int32_t value = 0;
    ok = napi_get_element(env, argv[0], d, &name) == napi_ok &&
         napi_get_value_string_utf8(env, name, dtypes->names[d], sizeof dtypes->names[d], &length) == napi_ok &&
         napi_get_element(env, argv[1], d, &bits) == napi_ok && napi_get_value_int32(env, bits, &value) == napi_ok;
    dtypes->lengths[d] = (uint8_t)length;
    dtypes->bits[d] = (uint16_t)value;
  }
  dtypes->count = ok ? (int)count : 0;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"read", NULL, read_header, NULL, NULL, NULL, napi_default, NULL},
      {"configure", NULL, configure, NULL, NULL, NULL, napi_default, NULL},
      {"kohyaEvidence", NULL, kohya_evidence_js, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
