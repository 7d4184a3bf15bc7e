package names

import "testing"

func TestNew(t *testing.T) {
	for _, tc := range []struct{ ns, sub, want string }{
		{"radarr", "list_sync", "radarr_list_sync_service_up"},
		{"", "list_sync", "list_sync_service_up"},
		{"radarr", "", "radarr_service_up"},
		{"", "", "service_up"},
	} {
		if got := New(tc.ns, tc.sub).Name(ServiceUp); got != tc.want {
			t.Errorf("New(%q,%q).Name = %q, want %q", tc.ns, tc.sub, got, tc.want)
		}
	}
	if Default.Name(ServiceUp) != "radarr_list_sync_service_up" {
		t.Errorf("Default = %q", Default)
	}
}
