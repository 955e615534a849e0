// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seccomptrace/seccomptrace/observer/policy"
)

// Record bodies in the kernel's format (docs/kernel-semantics.md §5.2, §5.3), as
// multicast delivers them: no "type=... msg=" prefix.
const (
	recErrno  = `audit(1731400000.123:45): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=279 comm="audit.test" exe="/tmp/audit.test" sig=0 arch=c000003e syscall=110 compat=0 ip=0x4a1b2c code=0x50000`
	recKill   = `audit(1731400000.004:46): auid=1000 uid=1000 gid=1000 ses=2 subj=unconfined pid=4242 comm="worker" exe="/usr/bin/worker" sig=31 arch=c000003e syscall=39 compat=0 ip=0x7f3a1b2c3d4e code=0x80000000`
	recCompat = `audit(1731400001.999:4294967295): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=? pid=1 comm="a" exe=(null) sig=0 arch=40000003 syscall=20 compat=1 ip=0xf7f0a549 code=0x50000`
	// comm "my prog" and exe "/tmp/a b" hold a space: hex.
	recHex   = `audit(1731400002.010:47): auid=0 uid=0 gid=0 ses=1 pid=5 comm=6D792070726F67 exe=2F746D702F612062 sig=0 arch=c000003e syscall=-1 compat=0 ip=0x0 code=0x7ff00000`
	recApp   = `audit(1731400002.011:48): auid=1000 uid=1000 gid=1000 ses=3 subj=snap.chromium.chromium (enforce) pid=77 comm="chrome" exe="/snap/chromium/chrome" sig=0 arch=c000003e syscall=157 compat=0 ip=0x7f00 code=0x50000`
	recCfgOK = `audit(1731400003.000:50): op=seccomp-logging actions=kill_process,kill_thread,trap,errno,user_notif,trace,log old-actions=errno res=1`
	recCfgNo = `audit(1731400003.001:51): op=seccomp-logging actions=? old-actions=(none) res=0`
)

func TestParseSeccomp(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want Seccomp
	}{
		{"errno", recErrno, Seccomp{
			Stamp: Stamp{1731400000, 123, 45}, AUID: 4294967295, Ses: 4294967295, Pid: 279,
			Comm: "audit.test", Exe: "/tmp/audit.test", Arch: 0xc000003e, Syscall: 110,
			IP: 0x4a1b2c, Code: policy.Errno,
		}},
		{"kill_process", recKill, Seccomp{
			Stamp: Stamp{1731400000, 4, 46}, AUID: 1000, UID: 1000, GID: 1000, Ses: 2,
			Subj: "unconfined", HasSubj: true, Pid: 4242, Comm: "worker", Exe: "/usr/bin/worker",
			Sig: 31, Arch: 0xc000003e, Syscall: 39, IP: 0x7f3a1b2c3d4e, Code: policy.KillProcess,
		}},
		{"compat, subj=?, exe=(null)", recCompat, Seccomp{
			Stamp: Stamp{1731400001, 999, 4294967295}, AUID: 4294967295, Ses: 4294967295,
			Subj: "?", HasSubj: true, Pid: 1, Comm: "a", ExeNull: true, Arch: 0x40000003,
			Syscall: 20, Compat: true, IP: 0xf7f0a549, Code: policy.Errno,
		}},
		{"hex comm and exe, syscall=-1", recHex, Seccomp{
			Stamp: Stamp{1731400002, 10, 47}, Ses: 1, Pid: 5, Comm: "my prog", Exe: "/tmp/a b",
			Arch: 0xc000003e, Syscall: -1, Code: policy.Trace,
		}},
		{"AppArmor subj with a space", recApp, Seccomp{
			Stamp: Stamp{1731400002, 11, 48}, AUID: 1000, UID: 1000, GID: 1000, Ses: 3,
			Subj: "snap.chromium.chromium (enforce)", HasSubj: true, Pid: 77, Comm: "chrome",
			Exe: "/snap/chromium/chrome", Arch: 0xc000003e, Syscall: 157, IP: 0x7f00, Code: policy.Errno,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := ParseRecord(TypeSeccomp, []byte(tc.body+"\x00"))
			if err != nil {
				t.Fatal(err)
			}
			if rec.Seccomp == nil {
				t.Fatal("no Seccomp view")
			}
			if *rec.Seccomp != tc.want {
				t.Errorf("got  %+v\nwant %+v", *rec.Seccomp, tc.want)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	rec, err := ParseRecord(TypeSeccomp, []byte(recHex))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := rec.Field("comm")
	if f.Enc != EncHex || f.Raw != "6D792070726F67" || f.Value != "my prog" {
		t.Errorf("comm field = %+v", f)
	}
	if f, _ := rec.Field("arch"); f.Enc != EncBare || f.Value != "c000003e" {
		t.Errorf("arch is not hex-decoded: %+v", f)
	}
	if rec.Stamp.Time() != time.Unix(1731400002, 10e6) || rec.Stamp.String() != "1731400002.010:47" {
		t.Errorf("stamp %v = %v", rec.Stamp, rec.Stamp.Time())
	}
	if !strings.HasPrefix(rec.Raw, "auid=0 ") {
		t.Errorf("Raw = %q", rec.Raw)
	}

	// A generic record keeps words, both quote styles and every field.
	rec, err = ParseRecord(1400, []byte(`audit(1.000:2): avc:  denied  { read } for  pid=3 comm="x y" path=2F61 msg='op=a b' key=(null) tclass=file`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rec.Fields {
		got = append(got, f.Key+"|"+f.Value+"|"+f.Enc.String())
	}
	want := []string{"|avc:|word", "|denied|word", "|{|word", "|read|word", "|}|word", "|for|word",
		"pid|3|bare", "comm|x y|quoted", "path|/a|hex", "msg|op=a b|quoted", "key||null", "tclass|file|bare"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields\n got %q\nwant %q", got, want)
	}
	if rec.Seccomp != nil || rec.ConfigChange != nil {
		t.Error("typed view on a generic record")
	}

	// An empty record (AUDIT_EOE).
	rec, err = ParseRecord(1320, []byte("audit(1731400000.123:45): \x00"))
	if err != nil || len(rec.Fields) != 0 || rec.Stamp.Serial != 45 {
		t.Errorf("EOE: %+v, %v", rec, err)
	}
}

func TestParseConfigChange(t *testing.T) {
	rec, err := ParseRecord(TypeConfigChange, []byte(recCfgOK))
	if err != nil {
		t.Fatal(err)
	}
	want := ConfigChange{Stamp: Stamp{1731400003, 0, 50}, Op: "seccomp-logging",
		Actions: "kill_process,kill_thread,trap,errno,user_notif,trace,log", OldActions: "errno", Res: 1}
	if rec.ConfigChange == nil || *rec.ConfigChange != want {
		t.Fatalf("got %+v, want %+v", rec.ConfigChange, want)
	}
	l, err := ParseActionList(rec.ConfigChange.Actions)
	if err != nil || l.Set != policy.DefaultLogged || l.Failed || !l.Canonical {
		t.Errorf("actions: %+v, %v", l, err)
	}

	rec, err = ParseRecord(TypeConfigChange, []byte(recCfgNo))
	if err != nil || rec.ConfigChange == nil || rec.ConfigChange.Res != 0 {
		t.Fatalf("%+v, %v", rec.ConfigChange, err)
	}
	if l, err := ParseActionList(rec.ConfigChange.Actions); err != nil || !l.Failed {
		t.Errorf("actions=?: %+v, %v", l, err)
	}
	if l, err := ParseActionList(rec.ConfigChange.OldActions); err != nil || l.Failed || l.Set != 0 || !l.Canonical {
		t.Errorf("old-actions=(none): %+v, %v", l, err)
	}

	// Other CONFIG_CHANGE records stay generic.
	rec, err = ParseRecord(TypeConfigChange, []byte(`audit(1.000:3): op=set audit_enabled=1 old=0 auid=0 ses=1 res=1`))
	if err != nil || rec.ConfigChange != nil {
		t.Errorf("op=set: %+v, %v", rec.ConfigChange, err)
	}
	// A seccomp-logging record without res.
	if _, err := ParseRecord(TypeConfigChange, []byte(`audit(1.000:3): op=seccomp-logging actions=log old-actions=log`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("missing res: %v", err)
	}
}

func TestParseActionList(t *testing.T) {
	for _, tc := range []struct {
		in        string
		set       policy.ActionSet
		canonical bool
		bad       bool
	}{
		{"log", policy.BitLog, true, false},
		{"trap,errno", policy.BitTrap | policy.BitErrno, true, false},
		{"errno,trap", policy.BitTrap | policy.BitErrno, false, false},
		{"errno,errno", policy.BitErrno, false, false},
		{"allow", policy.BitAllow, true, false},
		{"(none)", 0, true, false},
		{"", 0, false, true},
		{"log,", 0, false, true},
		{",log", 0, false, true},
		{"log trap", 0, false, true},
		{"Log", 0, false, true},
		{"log,bogus", 0, false, true},
	} {
		l, err := ParseActionList(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%q: err %v, want ErrMalformed", tc.in, err)
			}
			continue
		}
		if err != nil || l.Set != tc.set || l.Canonical != tc.canonical || l.Failed {
			t.Errorf("%q: %+v, %v; want set %v canonical %v", tc.in, l, err, tc.set, tc.canonical)
		}
	}
}

func TestParseRecordMalformed(t *testing.T) {
	for _, tc := range []struct {
		typ  uint16
		body string
	}{
		{TypeSeccomp, ""},
		{TypeSeccomp, "garbage"},
		{TypeSeccomp, "audit(1731400000.123:45) auid=0"},
		{TypeSeccomp, "audit(1731400000.12:45): auid=0"},
		{TypeSeccomp, "audit(1731400000.1234:45): auid=0"},
		{TypeSeccomp, "audit(-1.123:45): auid=0"},
		{TypeSeccomp, "audit(1.123:99999999999): auid=0"},
		{TypeSeccomp, "audit(1.123): auid=0"},
		{TypeSeccomp, "audit(1.123:4"},
		{1300, `audit(1.123:4): comm="unterminated`},
		{1300, `audit(1.123:4): comm="a"b`},
		// Missing fields and bad numbers in a SECCOMP record.
		{TypeSeccomp, strings.Replace(recErrno, " code=0x50000", "", 1)},
		{TypeSeccomp, strings.Replace(recErrno, " pid=279", "", 1)},
		{TypeSeccomp, strings.Replace(recErrno, `comm="audit.test"`, "comm=(null)", 1)},
		{TypeSeccomp, strings.Replace(recErrno, "code=0x50000", "code=50000", 1)},
		{TypeSeccomp, strings.Replace(recErrno, "code=0x50000", "code=0x1ffffffff", 1)},
		{TypeSeccomp, strings.Replace(recErrno, "arch=c000003e", "arch=xyz", 1)},
		{TypeSeccomp, strings.Replace(recErrno, "compat=0", "compat=2", 1)},
		{TypeSeccomp, strings.Replace(recErrno, "uid=0", "uid=-1", 1)},
		{TypeSeccomp, strings.Replace(recErrno, "sig=0", `sig="0"`, 1)},
		{TypeSeccomp, strings.Replace(recErrno, "ip=0x4a1b2c", "ip=4a1b2c", 1)},
	} {
		rec, err := ParseRecord(tc.typ, []byte(tc.body))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", tc.body, err)
		}
		if rec.Seccomp != nil {
			t.Errorf("%q: typed view despite the error", tc.body)
		}
		if rec.Type != tc.typ {
			t.Errorf("%q: type %d lost", tc.body, rec.Type)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{recErrno, recKill, recCompat, recHex, recApp, recCfgOK, recCfgNo,
		"audit(1.000:2): avc:  denied  { read } for pid=3 msg='a b'", "", "audit(", "audit(1.000:2): a=\"",
		"audit(1.000:2): subj=a b c pid=1"} {
		typ := TypeSeccomp
		if strings.Contains(s, "seccomp-logging") {
			typ = TypeConfigChange
		}
		f.Add(typ, []byte(s))
	}
	f.Fuzz(func(t *testing.T, typ uint16, body []byte) {
		rec, err := ParseRecord(typ, body)
		if rec.Type != typ {
			t.Fatalf("type %d became %d", typ, rec.Type)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if rec.Seccomp != nil || rec.ConfigChange != nil {
				t.Fatal("typed view despite an error")
			}
			return
		}
		if rec.Stamp.Msec > 999 {
			t.Fatalf("msec %d", rec.Stamp.Msec)
		}
		if typ == TypeSeccomp && rec.Seccomp == nil {
			t.Fatal("SECCOMP record parsed without a view")
		}
		for _, fl := range rec.Fields {
			if fl.Enc == EncWord && (fl.Key != "" || strings.Contains(fl.Value, " ")) {
				t.Fatalf("bad word %+v", fl)
			}
			if fl.Enc != EncWord && fl.Key == "" {
				t.Fatalf("field without a key: %+v", fl)
			}
		}
		if rec.Seccomp != nil {
			// The stamp re-formats to what the body started with.
			if !strings.HasPrefix(string(body), "audit("+rec.Stamp.String()+"):") {
				t.Fatalf("stamp %v does not round-trip from %q", rec.Stamp, body)
			}
		}
	})
}
