package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/listsync/otelmon/otelmon"
)

// syncer pulls one source's list into the library, looking each item up
// through a metadata cache so that cache hits and misses are real. It is an
// otelmon.SyncHandler; the Monitor's decorator adds the breaker and the
// metrics, and hands each job a client that runs under the job's breaker
// admission.
type syncer struct {
	source  string
	baseURL string
	monitor *otelmon.Monitor
	cache   *metadataCache
	library *library
}

var _ otelmon.SyncHandler = (*syncer)(nil)

// ExecuteSync performs one sync of the source's list.
func (s *syncer) ExecuteSync(ctx context.Context, job otelmon.SyncJob) (otelmon.SyncResult, error) {
	added, updated, found, err := s.sync(ctx, job.HTTPClient(s.source))
	return otelmon.SyncResult{ItemsFound: found, ItemsAdded: added, ItemsUpdated: updated}, err
}

func (s *syncer) sync(ctx context.Context, c *http.Client) (added, updated, found uint64, err error) {
	var items []listItem
	if err := s.getJSON(ctx, c, "/list", &items); err != nil {
		return 0, 0, 0, fmt.Errorf("fetch %s list: %w", s.source, err)
	}
	for _, it := range items {
		m, ok := s.cache.get(it.ID)
		if ok {
			s.monitor.RecordCacheHit(ctx, "movie_cache")
		} else {
			s.monitor.RecordCacheMiss(ctx, "movie_cache")
			if err := s.getJSON(ctx, c, fmt.Sprintf("/movie/%d", it.ID), &m); err != nil {
				return added, updated, uint64(len(items)), fmt.Errorf("fetch %s movie %d: %w", s.source, it.ID, err)
			}
			s.cache.put(it.ID, m)
		}
		switch s.library.upsert(it) {
		case upsertAdded:
			added++
		case upsertUpdated:
			updated++
		}
	}
	return added, updated, uint64(len(items)), nil
}

func (s *syncer) getJSON(ctx context.Context, c *http.Client, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL+path, nil)
	if err != nil {
		return err
	}
	authorize(req, s.source)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("%s answered %s", s.source, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// authorize adds the credentials of source to req, where that service
// expects them; without them its stand-in answers 401, as the real service
// does. The headers never reach a log or an error.
func authorize(req *http.Request, source string) {
	switch source {
	case "tmdb":
		// TMDb API docs, "Authentication": the API read access token as a
		// Bearer token (or the v3 key as an api_key query parameter, which
		// would put the key in every URL).
		req.Header.Set("Authorization", "Bearer "+tmdbReadToken)
	case "trakt":
		// Trakt API docs, "Required Headers".
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("trakt-api-key", traktClientID)
		req.Header.Set("trakt-api-version", "2")
	case "plex":
		req.Header.Set("X-Plex-Token", plexToken)
		req.Header.Set("Accept", "application/json")
	}
}

// metadataCache is a small bounded cache of movie metadata shared by all
// sources.
type metadataCache struct {
	mu    sync.Mutex
	max   int
	items map[int]movie
}

func newMetadataCache(max int) *metadataCache {
	return &metadataCache{max: max, items: map[int]movie{}}
}

func (c *metadataCache) get(id int) (movie, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.items[id]
	return m, ok
}

func (c *metadataCache) put(id int, m movie) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) >= c.max {
		for k := range c.items { // evict an arbitrary entry
			delete(c.items, k)
			break
		}
	}
	c.items[id] = m
}

type upsertResult int

const (
	upsertUnchanged upsertResult = iota
	upsertAdded
	upsertUpdated
)

// library is the media library the lists sync into.
type library struct {
	mu     sync.Mutex
	movies map[int]int // id → version
}

func newLibrary() *library { return &library{movies: map[int]int{}} }

func (l *library) upsert(it listItem) upsertResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.movies[it.ID]
	l.movies[it.ID] = it.Version
	switch {
	case !ok:
		return upsertAdded
	case v != it.Version:
		return upsertUpdated
	}
	return upsertUnchanged
}
