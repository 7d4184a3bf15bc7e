package silence

import "regexp/syntax"

// What a silence's regular expressions cost, bounded before they are
// compiled (Config.MaxRegexLength, Config.MaxRegexMemory).

// regexBounds bounds the regular expressions of one list of matchers. A
// zero field bounds nothing.
type regexBounds struct {
	maxLength int // bytes of one expression, as written
	maxMemory int // estimated bytes of the list's expressions compiled (regexMemory)
}

// boundError is a matcher beyond a bound: limit names the Config field
// that sets it.
type boundError struct {
	field, reason, limit string
}

// anchor anchors a matcher's regular expression at both ends.
func anchor(v string) string { return "^(?:" + v + ")$" }

// parseRegex parses and compiles a matcher's regular expression, anchored,
// as regexp.Compile does: the program tells what the *regexp.Regexp will
// cost before it is made.
func parseRegex(v string) (*syntax.Prog, error) {
	re, err := syntax.Parse(anchor(v), syntax.Perl)
	if err != nil {
		return nil, err
	}
	return syntax.Compile(re.Simplify())
}

// regexMemory estimates the heap, in bytes, that the *regexp.Regexp of
// expr, whose program is prog, keeps: its program, the rune ranges of its
// character classes, the one-pass copy the regexp package makes of a
// small anchored program (where every instruction that branches or passes
// through keeps the ranges of the runes that may follow it), and the
// expression itself. It errs high: measured on expressions of many shapes
// (literals, alternations, classes, Unicode classes, repetitions,
// optional and starred pieces, groups), the heap they keep is between 0.2
// and 0.9 times the estimate (TestRegexMemoryEstimate).
func regexMemory(expr string, prog *syntax.Prog) int {
	n := 1024 + 2*len(expr)
	for i := range prog.Inst {
		n += 160
		switch in := &prog.Inst[i]; in.Op {
		case syntax.InstRune:
			n += 192 + 8*len(in.Rune)
		case syntax.InstAlt, syntax.InstAltMatch:
			n += 192
		}
	}
	if len(prog.Inst) < onePassMaxInst {
		n += 8 * onePassRunes(prog)
	}
	return n
}

// onePassMaxInst is the size from which the regexp package makes no
// one-pass copy of a program.
const onePassMaxInst = 1000

// onePassRunes returns how many runes the one-pass copy of prog would
// keep, were prog one-pass: each class, alternation and instruction that
// passes input through (a group, an empty-width assertion) keeps the
// ranges of the runes that may come next.
func onePassRunes(prog *syntax.Prog) int {
	const unknown, visiting = -1, -2
	next := make([]int, len(prog.Inst))
	for i := range next {
		next[i] = unknown
	}
	var runesAt func(pc uint32) int
	runesAt = func(pc uint32) int {
		switch next[pc] {
		case unknown:
		case visiting:
			return 0 // an empty loop: no rune leads on
		default:
			return next[pc]
		}
		next[pc] = visiting
		in := &prog.Inst[pc]
		r := 0
		switch in.Op {
		case syntax.InstRune, syntax.InstRune1:
			r = max(len(in.Rune), 2)
			if len(in.Rune) == 1 && syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				r = 8 // the rune and its case folds, each a range
			}
		case syntax.InstRuneAny:
			r = 2
		case syntax.InstRuneAnyNotNL:
			r = 4
		case syntax.InstAlt, syntax.InstAltMatch:
			r = runesAt(in.Out) + runesAt(in.Arg)
		case syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
			r = runesAt(in.Out)
		}
		next[pc] = r
		return r
	}
	total := 0
	for pc := range prog.Inst {
		switch prog.Inst[pc].Op {
		case syntax.InstRune, syntax.InstAlt, syntax.InstAltMatch, syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
			total += runesAt(uint32(pc))
		}
	}
	return total
}
