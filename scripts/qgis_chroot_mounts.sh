# Mounts for the QGIS chroots (sourced by qgis_chroot_env.sh and qgis_chroot_test.sh).
S4_MOUNTED=()
s4_mount() { # ROOT [REPO]
  local root="$1" repo="${2:-}"
  mkdir -p "$root/proc" "$root/dev" "$root/sys" "$root/tmp"
  mount -t proc proc "$root/proc" && S4_MOUNTED+=("$root/proc")
  mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && S4_MOUNTED+=("$root/dev")
  mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && S4_MOUNTED+=("$root/sys")
  if [ -n "$repo" ]; then
    mkdir -p "$root/s4"
    mount --bind "$repo" "$root/s4" && S4_MOUNTED+=("$root/s4")
  fi
}
s4_umount() {
  local i
  for ((i = ${#S4_MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -R "${S4_MOUNTED[i]}" 2>/dev/null || umount -lR "${S4_MOUNTED[i]}" 2>/dev/null || true
  done
  S4_MOUNTED=()
}
