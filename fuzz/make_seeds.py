#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/ in the input format of fuzz_support.hpp.

Each seed is a short program that starts the fuzzer somewhere worth mutating: the
seven memory-pressure cases the fuzzers were written for, edge pages (0, max_page,
chunk borders), budgets and an exhausted arena. Inputs the fuzzer found on its own
live beside them under other names; this script only (re)writes its own files.

Usage: make_seeds.py [corpus dir]   (default: the corpus/ folder next to this file)
"""
import os
import sys

MAX_PAGE = (1 << 63) - 1
ONE = 8    # fault nibble: refuse the next allocation attempt only
ALL = 12   # fault nibble: refuse every allocation attempt until the op ends


def page(p):
    return bytes([6]) + p.to_bytes(8, "little")


def rng(a, b=None):
    return bytes([5]) + page(a) + page(a if b is None else b)


def op(code, fault=0):
    return bytes([code | (fault << 4)])


# ---- page_set target: backend byte, then ops -----------------------------------------
SETS = {"rangeset": 0, "capped_page": 1, "flat_bitmap": 2, "chunked_bitmap": 3,
        "chunked_bitmap64": 4, "hybrid": 5, "icl_set": 6}
GRANT, REVOKE, REVOKE_EXACT, RESERVE, SHRINK, CLEAR, COPY, BUDGET, SCATTER = range(9)


def s_grant(a, b=None, fault=0):
    return op(GRANT, fault) + rng(a, b)


def s_revoke(a, b=None, fault=0, exact=False):
    return op(REVOKE_EXACT if exact else REVOKE, fault) + rng(a, b)


def s_reserve(k, fault=0):
    return op(RESERVE, fault) + bytes([k])


def scatter(first, runs, stride, length):
    """The operands of a scatter op: runs (odd, <= 511) runs of length pages."""
    assert runs % 2 == 1 and runs <= 511 and 2 <= stride <= 257 and 1 <= length <= 4
    return page(first) + bytes([(runs - 1) // 2, stride - 2, length - 1])


def scatter_parts(total):
    """Splits total runs into the odd counts one scatter op can make (<= 511 each)."""
    parts = []
    while total > 0:
        n = min(511, total)
        if n % 2 == 0:
            n -= 1
        parts.append(n)
        total -= n
    return parts


def scatters(code_bytes, total, stride):
    """Ops laying out total runs of 4 pages, stride apart, from page 0."""
    out, first = b"", 0
    for n in scatter_parts(total):
        out += code_bytes + scatter(first * stride, n, stride, 4)
        first += n
    return out


def page_set_seeds():
    seeds = {}
    # Case 2: a refused refill, then memory returns: the next cut must retry.
    for name in ("rangeset", "hybrid", "chunked_bitmap"):
        seeds[f"case2-retry-{name}"] = bytes([SETS[name]]) + s_grant(0, 99) + s_revoke(10, fault=ONE) + \
            s_revoke(50) + s_revoke(70, exact=True)
    # The same where the reserve is made of spare nodes or list pairs: a rangeset of
    # 3060 runs (twelve full leaves once packed), a hybrid chunk holding 31 runs in a run list.
    # Cuts spread over the whole set, so that some land in full leaves.
    for name, runs, stride in (("rangeset", 3060, 10), ("hybrid", 31, 100), ("chunked_bitmap64", 511, 100)):
        prog = bytes([SETS[name]]) + scatters(op(SCATTER), runs, stride)
        prog += op(SHRINK)  # packs the index: full leaves, so cuts need the reserve
        # Cuts in full leaves whose refills are refused spend the spare nodes (or the
        # list's free pairs); then a cut in a full leaf with full neighbours must ask
        # for memory rather than drop pages.
        at = [(runs * k // 12 + runs // 24) * stride + 1 for k in range(12)]
        prog += s_revoke(at[1], fault=ONE) + s_revoke(at[4], fault=ONE) + s_revoke(at[7], fault=ONE) + \
            s_revoke(at[10]) + s_revoke(at[2], fault=ONE) + s_revoke(at[5], fault=ONE) + \
            s_revoke(at[8], fault=ONE) + s_revoke(at[11], exact=True)
        seeds[f"case2-retry-deep-{name}"] = prog
    # Case 6: 100 sparse pages in one hybrid chunk, revoked down to 40 while nothing
    # can be allocated; then the checker, and memory back.
    prog = bytes([SETS["hybrid"]])
    for p in range(0, 200, 2):
        prog += s_grant(p)
    prog += s_revoke(80, 199, fault=ALL) + s_grant(1000) + op(SHRINK)
    seeds["case6-refused-shrink-hybrid"] = prog
    # Case 7: bytes that must not depend on history; shrink_to_fit is compared with
    # a set built directly.
    seeds["case7-history-hybrid"] = bytes([SETS["hybrid"]]) + s_grant(0) + s_grant(1 << 30) + \
        s_grant(1 << 40) + s_revoke(1 << 30) + s_revoke(1 << 40) + op(SHRINK)
    prog = bytes([SETS["hybrid"]])
    for p in range(0, 200, 2):
        prog += s_grant(p)
    prog += s_revoke(80, 199) + op(SHRINK)
    seeds["case7-sparse-hybrid"] = prog
    # Reserves taken while memory is plentiful, then every allocation refused.
    for name, i in SETS.items():
        prog = bytes([i]) + s_grant(0, (1 << 20) - 1) + s_reserve(4)
        for k in range(6):
            prog += s_revoke(1000 + 70000 * k, 1003 + 70000 * k, fault=ALL)
        seeds[f"reserve-then-refuse-{name}"] = prog
    # Edge pages: 0, the top, chunk borders, a grant of everything.
    for name, i in SETS.items():
        top = (1 << 18) + 36 if name == "flat_bitmap" else MAX_PAGE
        prog = bytes([i]) + s_grant(0, top) + s_revoke(top) + s_revoke(0) + s_revoke(63, 64) + \
            s_revoke(32767, 32768) + s_revoke(65535, 65536, exact=True) + s_grant(top) + op(COPY) + \
            s_grant(0, top, fault=ALL) + op(CLEAR) + s_grant(top)
        seeds[f"edges-{name}"] = prog
    # A budget on the live bytes.
    seeds["budget-rangeset"] = bytes([SETS["rangeset"]]) + s_grant(0, 999) + op(BUDGET) + bytes([1]) + \
        b"".join(s_revoke(10 * k) for k in range(1, 40)) + op(BUDGET) + bytes([0]) + s_revoke(500)
    return seeds


# ---- permission_map target: set byte, then (op, domain) and operands ---------------
MAPS = {"hybrid": 0, "rangeset": 1, "chunked_bitmap64": 2, "capped_page": 3}
PERMIT, DENY, DENY_EXACT, PERMIT_ALL, PERMIT_EXCLUSIVE, TRANSFER, SET_BUDGET, RESERVE_D, DESTROY, ARENA, \
    SCATTER_D = range(11)


def m(code, d, fault=0):
    return op(code, fault) + bytes([d])


def permission_map_seeds():
    seeds = {}
    for name, i in MAPS.items():
        head = bytes([i])
        # Case 1: a refused refill during a deny, then a transfer: exact or nothing.
        seeds[f"case1-transfer-{name}"] = head + m(PERMIT, 1) + rng(0, 99) + m(PERMIT, 2) + rng(1000) + \
            m(DENY, 1, ONE) + rng(10) + m(TRANSFER, 1) + bytes([2]) + rng(50) + m(TRANSFER, 1, ONE) + \
            bytes([2]) + rng(60) + m(TRANSFER, 1, ALL) + bytes([2]) + rng(70)
        # Case 1 where the reserve is spare nodes or list pairs: many runs first.
        runs, stride = (31, 100) if name == "hybrid" else (3060, 10)
        prog = head + m(PERMIT, 2) + rng(1 << 30) + scatters(m(SCATTER_D, 1), runs, stride)
        for k in range(1, 9):
            at = (runs * k // 9) * stride + 1
            prog += m(DENY, 1, ONE) + rng(at) + m(TRANSFER, 1) + bytes([2]) + rng(at + stride) + \
                m(TRANSFER, 1, ONE) + bytes([2]) + rng(at + 2 * stride) + m(DENY_EXACT, 1, ALL) + rng(at + 3 * stride)
        seeds[f"case1-transfer-deep-{name}"] = prog
        # Case 3: two large domains, the arena exhausted, transfers and a small deny.
        prog = head + m(PERMIT, 1) + rng(0, (1 << 20) - 1) + m(PERMIT, 2) + rng(1 << 21, (1 << 21) + (1 << 20) - 1) + \
            m(ARENA, 0) + bytes([1])
        for k in range(4):
            prog += m(TRANSFER, 1) + bytes([2]) + rng(1000 + 5000 * k, 1009 + 5000 * k)
        prog += m(DENY, 1) + rng(400000, 400004) + m(DENY, 2) + rng((1 << 21) + 7, (1 << 21) + 11)
        seeds[f"case3-arena-{name}"] = prog
        # Case 4: a budget equal to the domain's bytes, a refused refill, then a
        # permit and a deny that splits.
        seeds[f"case4-budget-{name}"] = head + m(PERMIT, 1) + rng(0, 99) + m(SET_BUDGET, 1) + bytes([32]) + \
            m(DENY, 1, ONE) + rng(10) + m(PERMIT, 1) + rng(200) + m(DENY, 1) + rng(60) + m(DENY_EXACT, 1) + rng(70)
        # Case 5: permit_all of pages already held, with and without a budget; the
        # domain holds 101 runs, so a copy of its set would take memory.
        seeds[f"case5-permit-all-held-{name}"] = head + m(SCATTER_D, 1) + scatter(0, 101, 10, 4) + \
            m(SET_BUDGET, 1) + bytes([32]) + m(PERMIT_ALL, 1) + bytes([1]) + rng(0, 3) + rng(500, 502) + \
            m(PERMIT, 1) + rng(0, 99) + m(SET_BUDGET, 1) + bytes([32]) + \
            m(PERMIT_ALL, 1) + bytes([1]) + rng(10, 20) + rng(30, 40) + m(PERMIT_ALL, 3) + bytes([1]) + rng(5, 6) + \
            rng(8, 9) + m(PERMIT, 4) + rng(0, 50) + m(PERMIT_ALL, 4) + bytes([2]) + rng(1, 2) + rng(3, 4) + rng(40, 41)
        # Reserves, exclusive permits, destroy with a visitor, edge pages.
        seeds[f"mixed-{name}"] = head + m(PERMIT, 0) + rng(0, MAX_PAGE) + m(RESERVE_D, 0) + bytes([3]) + \
            m(DENY, 0, ALL) + rng(MAX_PAGE) + m(DENY, 0, ALL) + rng(0) + m(DENY_EXACT, 0, ALL) + rng(32767, 32768) + \
            m(PERMIT_EXCLUSIVE, 1) + rng(5) + m(PERMIT_EXCLUSIVE, 1) + rng(MAX_PAGE) + m(DESTROY, 0) + \
            m(PERMIT_EXCLUSIVE, 1) + rng(MAX_PAGE) + m(SET_BUDGET, 1) + bytes([0]) + m(DESTROY, 1)
    return seeds


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    for target, seeds in (("page_set", page_set_seeds()), ("permission_map", permission_map_seeds())):
        folder = os.path.join(root, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(folder, "seed-" + name), "wb") as f:
                f.write(data)
        print(f"{target}: {len(seeds)} seeds in {folder}")


if __name__ == "__main__":
    main()
