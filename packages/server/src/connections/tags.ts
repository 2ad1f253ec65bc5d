import { KeywayError } from '../errors.ts';
import { isRecord } from '../primitives.ts';
import type { EndUser } from '../store/types.ts';

/** Nango's connection tags: a small string map the app filters connections by. */
export type Tags = Readonly<Record<string, string>>;

/** Nango's limits (packages/shared tags schema): 10 tags, keys of 64, values of 255. */
const MAX_TAGS = 10;
const KEY = /^[a-zA-Z][a-zA-Z0-9_\-./]{0,63}$/;
const MAX_VALUE = 255;

/**
 * Validates a `tags` body field. Keys are lower-cased (Nango compares them case-insensitively, so
 * `OrgId` and `orgid` are one key: two spellings of one key are refused rather than merged).
 */
export function parseTags(value: unknown, field = 'tags'): Tags {
  if (!isRecord(value)) throw new KeywayError('invalid_body', `\`${field}\` must map names to strings`);
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS) throw new KeywayError('invalid_body', `\`${field}\` holds at most ${MAX_TAGS} tags`);
  const tags: Record<string, string> = Object.create(null);
  for (const [key, v] of entries) {
    if (!KEY.test(key)) throw new KeywayError('invalid_body', `\`${field}\`: "${key.slice(0, 80)}" is not a tag key (a letter, then letters, digits, _ - . /; at most 64)`);
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_VALUE) throw new KeywayError('invalid_body', `\`${field}.${key}\` must be a string of 1 to ${MAX_VALUE} characters`);
    const lower = key.toLowerCase();
    if (Object.hasOwn(tags, lower)) throw new KeywayError('invalid_body', `\`${field}\` names "${lower}" twice (tag keys ignore case)`);
    tags[lower] = v;
  }
  return { ...tags };
}

/**
 * Nango's reserved tags, made from the end user (the lowest priority: the app's own tags win), so
 * a connection made by an end-user session can be found by `tags[end_user_id]=...` as on Nango.
 */
export function tagsWithEndUser(endUser: EndUser | null, tags: Tags | undefined): Tags {
  const reserved: Record<string, string> = {};
  if (endUser) {
    reserved.end_user_id = endUser.id;
    if (endUser.email) reserved.end_user_email = endUser.email;
    if (endUser.display_name) reserved.end_user_display_name = endUser.display_name;
    if (endUser.organization) {
      reserved.organization_id = endUser.organization.id;
      if (endUser.organization.display_name) reserved.organization_display_name = endUser.organization.display_name;
    }
  }
  return { ...reserved, ...tags };
}

/** The end user named by reserved tags (`end_user_id`, ...), for a session given tags and no `end_user`. */
export function endUserFromTags(tags: Tags): EndUser | null {
  if (!tags.end_user_id) return null;
  return {
    id: tags.end_user_id,
    ...(tags.end_user_email && { email: tags.end_user_email }),
    ...(tags.end_user_display_name && { display_name: tags.end_user_display_name }),
    ...(tags.organization_id && { organization: { id: tags.organization_id, ...(tags.organization_display_name && { display_name: tags.organization_display_name }) } }),
  };
}

/** Whether the connection carries every tag of the filter (Nango's `tags[key]=value`, all must match). */
export function matchesTags(tags: Tags | undefined, filter: Tags): boolean {
  return Object.entries(filter).every(([k, v]) => tags !== undefined && Object.hasOwn(tags, k) && tags[k] === v);
}
