#!/usr/bin/env bash
# PrepImport onto an ntfs-3g volume against the same onto ext4 (the same loop-device setup),
# and against `cp -r` + `sync` onto the ntfs-3g volume. Root, parted, mkfs.ntfs, ntfs-3g.
#
#   bash bench/ntfs.sh [RUNS]     # default 3 runs of each; ~2 GB of temp files
#
# Datasets: A = 4 files of 192 MiB; B = 4,000 files of 16 KiB. Each run gets a fresh volume
# (a 1 GiB sparse image, GPT, one partition), so no run inherits another's allocation.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
waie="$PWD/bin/waie.mjs"
work=$(mktemp -d /tmp/waie-bench-ntfs-XXXX)
loop=""
cleanup() {
  mountpoint -q "$work/m" 2>/dev/null && umount "$work/m"
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/src/a" "$work/src/b"
for i in 1 2 3 4; do head -c $((192 * 1024 * 1024)) /dev/urandom >"$work/src/a/f$i.bin"; done
for d in $(seq 1 20); do
  mkdir -p "$work/src/b/d$d"
  for i in $(seq 1 200); do head -c 16384 /dev/urandom >"$work/src/b/d$d/f$i.bin"; done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
key=$(node -e 'console.log(Buffer.alloc(64, 42).toString("base64"))')

# volume FS: a fresh 1 GiB image with one GPT partition, FS on it, mounted on $work/m
volume() {
  [ -n "$loop" ] && { mountpoint -q "$work/m" && umount "$work/m"; losetup -d "$loop"; loop=""; }
  rm -f "$work/v.img"
  truncate -s 1G "$work/v.img"
  parted -s "$work/v.img" mklabel gpt mkpart primary ntfs 1MiB 100% 2>/dev/null # no udev here: parted complains it cannot settle it
  loop=$(losetup --find --show --partscan "$work/v.img")
  [ -e "/sys/block/${loop#/dev/}/${loop#/dev/}p1" ] || partx -a "$loop"
  for _ in $(seq 50); do [ -e "${loop}p1" ] && break; sleep 0.02; done
  mkdir -p "$work/m"
  if [ "$1" = ntfs ]; then
    mkfs.ntfs -Q -F "${loop}p1" >/dev/null 2>&1
    ntfs-3g "${loop}p1" "$work/m"
  else
    mkfs.ext4 -q -F "${loop}p1"
    mount "${loop}p1" "$work/m"
    rm -rf "$work/m/lost+found"
  fi
}

# each sets $secs (not echoed: volume() must run in this shell, so that $loop is known to the next)
prep() { # fs dataset
  volume "$1"
  rm -rf "$work/j"
  mkdir -p "$work/j"
  printf 'BasePath,DstBlobPathOrPrefix\n"%s/src/%s/","data/"\n' "$work" "$2" >"$work/j/ds.csv"
  printf 'DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey\n%s,AlreadyFormatted,SilentMode,AlreadyEncrypted,060456-014509-132033-080300-252615-584177-672089-411631\n' "$work/m" >"$work/j/drives.csv"
  sync
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$work/j" && node "$waie" PrepImport /j:j.jrn /id:bench1 "/sk:$key" /InitialDriveSet:drives.csv /DataSet:ds.csv /logdir:. >"$work/prep.log" 2>&1) || { cat "$work/prep.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc)
}

copy() { # dataset: cp -r + sync onto a fresh ntfs-3g volume
  volume ntfs
  sync
  local t0 t1
  t0=$(date +%s.%N)
  cp -r "$work/src/$1" "$work/m/" && sync
  t1=$(date +%s.%N)
  secs=$(echo "$t1 - $t0" | bc)
}

bytesA=$(du -sb "$work/src/a" | cut -f1)
bytesB=$(find "$work/src/b" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
for r in $(seq "$runs"); do
  for ds in a b; do
    bytes=$([ $ds = a ] && echo "$bytesA" || echo "$bytesB")
    for what in ntfs ext4 cp; do
      if [ $what = cp ]; then copy $ds; else prep $what $ds; fi
      printf 'run %d %s %-4s %6.2f s %7.1f MB/s\n' "$r" "$ds" "$what" "$secs" "$(echo "$bytes / $secs / 1000000" | bc -l)"
    done
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
