// Every application the user may READ, with a search box, and the dialog that creates one.

import { useMemo, useState } from 'preact/hooks';
import { get, type Json } from '../api';
import { ErrorText, Loading, Modal } from '../components/common';
import { when } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';
import { ApplicationForm } from './ApplicationForm';

interface Application extends Json {
  name: string;
  email?: string;
  description?: string;
  createTs?: string | number;
  updateTs?: string | number;
}

function timestamp(value: unknown): string {
  const number = typeof value === 'string' ? Number(value) : value;
  return when(number);
}

export function Applications({ query }: { query: URLSearchParams }) {
  const applications = useLoad('applications', () => get<Application[]>('/applications'));
  const [search, setSearch] = useState(query.get('q') ?? '');
  const [creating, setCreating] = useState(false);

  const shown = useMemo(() => {
    const words = search.toLowerCase().split(/\s+/).filter(Boolean);
    return (applications.data ?? [])
      .filter((app) => {
        const text = `${app.name} ${app.email ?? ''} ${app.description ?? ''}`.toLowerCase();
        return words.every((word) => text.includes(word));
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }, [applications.data, search]);

  return (
    <main class="page">
      <div class="title-row">
        <h1>Applications</h1>
        <input
          type="search"
          class="search"
          placeholder="Search applications"
          aria-label="Search applications"
          value={search}
          onInput={(event) => setSearch((event.target as HTMLInputElement).value)}
        />
        <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
          Create application
        </button>
      </div>
      <ErrorText error={applications.error} />
      {applications.loading && !applications.data && <Loading what="applications" />}
      {applications.data && (
        <table class="grid" data-testid="applications">
          <thead>
            <tr>
              <th>Name</th>
              <th>Owner</th>
              <th>Description</th>
              <th>Created</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((app) => (
              <tr key={app.name}>
                <td>
                  <a href={href(['applications', app.name, 'executions'])}>{app.name}</a>
                </td>
                <td>{app.email ?? ''}</td>
                <td>{app.description ?? ''}</td>
                <td>{timestamp(app.createTs)}</td>
                <td>{timestamp(app.updateTs)}</td>
              </tr>
            ))}
            {!shown.length && (
              <tr>
                <td colSpan={5} class="empty">
                  {applications.data.length ? 'No application matches the search.' : 'No applications yet: create one.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {creating && (
        <Modal title="Create application" onClose={() => setCreating(false)}>
          <ApplicationForm
            onSaved={(name) => {
              setCreating(false);
              navigate(['applications', name, 'executions']);
            }}
          />
        </Modal>
      )}
    </main>
  );
}
