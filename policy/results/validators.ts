// Checks a detector's match must also pass, so that a pattern can stay simple (and linear) while
// the detector stays precise: a 16-digit number is a card number only when its Luhn digit fits.
export type ValidatorName = "luhn" | "iban" | "entropy" | "jwt";

export interface ValidatorOptions {
  /** For entropy: bits per character a match needs. */
  readonly minEntropy?: number | undefined;
}

export const DEFAULT_MIN_ENTROPY = 4.2;

export function validatorFor(name: ValidatorName, options: ValidatorOptions = {}): (match: string) => boolean {
  switch (name) {
    case "luhn":
      return validCardNumber;
    case "iban":
      return validIban;
    case "entropy": {
      const min = options.minEntropy ?? DEFAULT_MIN_ENTROPY;
      return (match) => looksRandom(match, min);
    }
    case "jwt":
      return validJwtShape;
  }
}

/**
 * A linear pre-check of the text a validator's detector scans: false when no match can pass the
 * validator, so the pattern need not run (card numbers and IBANs have no literal to look for).
 */
export function quickCheckFor(name: ValidatorName): ((text: string) => boolean) | undefined {
  if (name === "luhn") return hasCardRun;
  if (name === "iban") return hasIbanStart;
  return undefined;
}

/** A run of 13 or more digits, spaces and dashes holding at least 13 digits. */
function hasCardRun(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits >= 13) return true;
    } else if (c !== 32 && c !== 45) {
      digits = 0;
    }
  }
  return false;
}

/** Two letters followed by two digits (an IBAN's country and check digits). */
function hasIbanStart(text: string): boolean {
  for (let i = 0; i + 3 < text.length; i++) {
    const a = text.charCodeAt(i + 2);
    if (a < 48 || a > 57) continue;
    const b = text.charCodeAt(i + 3);
    // Either case: the validator reads the country code in upper case.
    const x = text.charCodeAt(i) | 32;
    const y = text.charCodeAt(i + 1) | 32;
    if (b >= 48 && b <= 57 && x >= 97 && x <= 122 && y >= 97 && y <= 122) return true;
  }
  return false;
}

/** 13 to 19 digits (spaces or dashes between groups allowed), not all one digit, Luhn check digit right. */
export function validCardNumber(match: string): boolean {
  const digits = match.replace(/[ -]/g, "");
  if (!/^[0-9]{13,19}$/.test(digits) || /^(\d)\1*$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** IBAN lengths by country (ISO 13616 registry); an unknown country is no IBAN. */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

/** The country's length and the ISO 7064 mod-97 check (the number, letters as 10..35, mod 97 is 1). */
export function validIban(match: string): boolean {
  const iban = match.replace(/ /g, "").toUpperCase();
  if (IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length || !/^[A-Z]{2}[0-9]{2}[A-Z0-9]+$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const c of rearranged) {
    const code = c.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : c;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * Random-looking: entropy at least `min` bits per character, and letters mixed with digits (words,
 * identifiers and paths rarely are; generated keys and tokens almost always).
 */
export function looksRandom(s: string, min: number): boolean {
  if (!/[0-9]/.test(s) || !/[A-Za-z]/.test(s)) return false;
  return shannonEntropy(s) >= min && !mostlySequential(s);
}

/** Runs such as `ABCDEF…0123`: many distinct characters, so high entropy, yet nothing random. */
function mostlySequential(s: string): boolean {
  let steps = 0;
  for (let i = 1; i < s.length; i++) if (Math.abs(s.charCodeAt(i) - s.charCodeAt(i - 1)) <= 1) steps++;
  return steps * 2 > s.length;
}

/** Three base64url parts whose first two decode to JSON objects, the header naming an `alg`. */
export function validJwtShape(match: string): boolean {
  const [header, payload] = match.split(".");
  const decoded = (part: string | undefined): unknown => {
    if (part === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
    } catch {
      return undefined;
    }
  };
  const h = decoded(header);
  const p = decoded(payload);
  return (
    typeof h === "object" &&
    h !== null &&
    typeof (h as Record<string, unknown>).alg === "string" &&
    typeof p === "object" &&
    p !== null
  );
}
