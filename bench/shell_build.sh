#!/bin/sh
# The shell baseline of the burst: in one warm clone ($1) of $2, each branch after $3 is
# checked out fresh, merged with master as a build does, and a trivial command runs.
set -e
lane=$1 repository=$2
shift 2
cd "$lane"
for branch in "$@"; do
    git fetch --quiet -f "$repository" "$branch"
    git checkout --quiet -f FETCH_HEAD
    git clean --quiet -f -f -d -x
    git fetch --quiet "$repository" master
    git merge --quiet --no-ff -m "Merge master into $branch" FETCH_HEAD
    true
done
