// Command tilecheck reads a C2SP tlog-tiles log with Go's
// golang.org/x/mod/sumdb/tlog and golang.org/x/mod/sumdb/note, an
// implementation independent of ours: it opens the checkpoint note with the
// log's verifier key, recomputes the tree hash from the hash tiles with
// tlog.TreeHash (through tlog.TileHashReader, which authenticates every tile
// it reads against the checkpoint), compares it with the checkpoint's root,
// and proves the first and last entries of the entry bundles into the tree.
//
// Usage: tilecheck <prefix URL, e.g. http://127.0.0.1:8080/tlog> <verifier key>
//
// x/mod names tiles tile/<H>/<L>/<N>[.p/<W>] with the height H (8 here);
// C2SP drops the height: tile/<L>/<N>[.p/<W>]. readTiles maps one to the other.
//
// Prints one JSON line {"origin","size","root","proved"} and exits 0, or
// prints the error and exits 1. Built in GOPATH mode (GO111MODULE=off) from
// Debian's golang-golang-x-mod-dev.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func fetch(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// c2spPath maps x/mod's tile/8/L/N[.p/W] to C2SP's tile/L/N[.p/W].
func c2spPath(t tlog.Tile) string {
	p := t.Path()
	prefix := fmt.Sprintf("tile/%d/", height)
	if !strings.HasPrefix(p, prefix) {
		panic("unexpected tile path " + p)
	}
	return "tile/" + strings.TrimPrefix(p, prefix)
}

type reader struct{ prefix string }

func (r reader) Height() int { return height }

func (r reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := fetch(r.prefix + "/" + c2spPath(t))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (r reader) SaveTiles([]tlog.Tile, [][]byte) {}

// entry returns entry i of the log from its entry bundle (the full or partial one the tree has).
func entry(prefix string, size, i int64) ([]byte, error) {
	n := i / 256
	w := size - n*256
	t := tlog.Tile{H: height, L: 0, N: n, W: 256}
	if w < 256 {
		t.W = int(w)
	}
	b, err := fetch(prefix + "/tile/entries/" + strings.TrimPrefix(c2spPath(t), "tile/0/"))
	if err != nil {
		return nil, err
	}
	for k := int64(0); ; k++ {
		if len(b) < 2 {
			return nil, fmt.Errorf("bundle %d ends before entry %d", n, i)
		}
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l {
			return nil, fmt.Errorf("bundle %d: entry cut short", n)
		}
		if n*256+k == i {
			return b[2 : 2+l], nil
		}
		b = b[2+l:]
	}
}

func run(prefix, vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %w", err)
	}
	raw, err := fetch(prefix + "/checkpoint")
	if err != nil {
		return err
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		return fmt.Errorf("note.Open: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 {
		return fmt.Errorf("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return fmt.Errorf("checkpoint size: %w", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		return fmt.Errorf("checkpoint root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}
	hr := tlog.TileHashReader(tree, reader{prefix})
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		return fmt.Errorf("tlog.TreeHash: %w", err)
	}
	if th != root {
		return fmt.Errorf("tree hash %s from the tiles, checkpoint root %s", th, root)
	}
	proved := []int64{}
	for _, i := range []int64{0, size / 2, size - 1} {
		if size == 0 {
			break
		}
		e, err := entry(prefix, size, i)
		if err != nil {
			return err
		}
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			return fmt.Errorf("tlog.ProveRecord(%d): %w", i, err)
		}
		if err := tlog.CheckRecord(p, size, root, i, tlog.RecordHash(e)); err != nil {
			return fmt.Errorf("entry %d: tlog.CheckRecord: %w", i, err)
		}
		proved = append(proved, i)
	}
	out, _ := json.Marshal(map[string]any{"origin": lines[0], "size": size, "root": hex.EncodeToString(root[:]), "proved": proved})
	fmt.Println(string(bytes.TrimSpace(out)))
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tilecheck <prefix URL> <verifier key>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "tilecheck:", err)
		os.Exit(1)
	}
}
