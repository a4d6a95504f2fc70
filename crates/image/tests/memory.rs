//! Memory follows the input: the SBOM and the scan of an image whose dpkg database lists
//! 50,000 packages hold a few times the database's size at their peak, measured by counting
//! every allocation of this test binary (not by timing, not by the process's RSS).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use haechi_image::fs::WalkOptions;
use haechi_image::osv::Database;
use haechi_image::report::{MatchOptions, Report};
use haechi_image::{Image, Inventory, format};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated while `f` runs, above what was allocated before it.
fn peak_of(f: impl FnOnce()) -> usize {
    let before = CURRENT.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - before
}

/// One test, so nothing else allocates in this binary while it measures.
#[test]
fn sbom_and_scan_of_a_large_dpkg_database_stay_proportional() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=debian\nVERSION_ID=12\n").unwrap();
    let mut status = String::new();
    for i in 0..50_000 {
        status.push_str(&format!(
            "Package: p{i}\nStatus: install ok installed\nArchitecture: amd64\nSource: s{i}\nVersion: 1.{i}\n\n"
        ));
    }
    std::fs::write(root.join("var/lib/dpkg/status"), &status).unwrap();
    std::fs::create_dir_all(root.join("osv")).unwrap();
    let input = status.len();
    drop(status);
    let image = Image::rootfs(root).unwrap();
    let options = WalkOptions {
        secrets: false,
        ..WalkOptions::default()
    };

    let sbom = peak_of(|| {
        let inventory = Inventory::collect(&image, options, &mut |_| {});
        assert_eq!(inventory.packages.len(), 50_000);
        let report = Report::build(&image, inventory, None, &MatchOptions::default());
        let mut out = std::io::sink();
        serde_json::to_writer_pretty(&mut out, &format::cyclonedx(&report)).unwrap();
    });
    let db = Database::load(&[root.join("osv")]).unwrap();
    let scan = peak_of(|| {
        let inventory = Inventory::collect(&image, options, &mut |_| {});
        let report = Report::build(&image, inventory, Some(&db), &MatchOptions::default());
        haechi_report::render(
            &report,
            haechi_report::Format::Json,
            false,
            &mut std::io::sink(),
        )
        .unwrap();
    });
    eprintln!(
        "dpkg status {input} bytes: sbom peak {sbom} bytes ({:.1}x), scan peak {scan} bytes ({:.1}x)",
        sbom as f64 / input as f64,
        scan as f64 / input as f64
    );
    assert!(
        sbom < 8 * input,
        "sbom peak {sbom} for {input} bytes of input"
    );
    assert!(
        scan < 8 * input,
        "scan peak {scan} for {input} bytes of input"
    );
}
