import { readFile } from 'node:fs/promises';
import { FILE_COLLECTIONS } from '../../src/store/json-file.ts';
import { JournaledJsonFile } from '../../src/store/journaled-file.ts';

/** Everything the JSON store holds at rest, as text: its file and the file's journal. */
export async function atRest(dbPath: string): Promise<string> {
  const journal = await readFile(`${dbPath}.journal`, 'utf8').catch(() => '');
  return `${await readFile(dbPath, 'utf8')}\n${journal}`;
}

/** The JSON store's data as a server would read it (the file with its journal applied). */
export async function readDb<T = { integrations: any[]; connections: any[] }>(dbPath: string): Promise<T> {
  const data = await new JournaledJsonFile<T & object>(dbPath, FILE_COLLECTIONS).read();
  if (!data) throw new Error(`${dbPath}: no database`);
  return data;
}
