//! The X11 capture and input backends against real Xvfb servers: pixels, monitors,
//! pointer, buttons, keys and text, each test on its own display in :60-:79.

#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use lifeline_agent::platform::x11::{X11Capturer, X11Injector};
use lifeline_agent::platform::{CaptureError, Capturer, InputError, InputInjector};
use lifeline_codec::BgraFrame;
use lifeline_protocol::message::{KeyEvent, Modifiers, MouseButton};
use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{
    ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, MapState, Rectangle, Window,
    WindowClass,
};
use x11rb::rust_connection::RustConnection;

/// How long anything may take on a loaded machine before the test gives up.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Display numbers taken by tests of this process.
static CLAIMED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// An Xvfb server of this test, with a connection that keeps it from resetting and
/// draws on it. Terminated (by PID) when dropped.
struct Xvfb {
    child: Child,
    number: u32,
    display: String,
    conn: RustConnection,
    root: Window,
}

impl Xvfb {
    fn start(size: &str) -> Self {
        Self::start_with(size, &[])
    }

    fn start_with(size: &str, extra_args: &[&str]) -> Self {
        for number in 60..80 {
            if !claim(number) {
                continue;
            }
            if let Some(xvfb) = Self::try_start(number, size, extra_args) {
                return xvfb;
            }
            release(number);
        }
        panic!("no free X display number in :60-:79");
    }

    fn try_start(number: u32, size: &str, extra_args: &[&str]) -> Option<Self> {
        if socket_path(number).exists() {
            return None;
        }
        let display = format!(":{number}");
        let mut child = Command::new("Xvfb")
            .args([
                &display,
                "-screen",
                "0",
                size,
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if child.try_wait().unwrap().is_some() {
                // Another server took the number first.
                return None;
            }
            // The lock file names the server that owns the number: ours, not one that
            // another process started at the same moment.
            let owner = std::fs::read_to_string(format!("/tmp/.X{number}-lock"))
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok());
            if owner == Some(child.id())
                && socket_path(number).exists()
                && let Ok((conn, screen)) = x11rb::connect(Some(&display))
            {
                let root = conn.setup().roots[screen].root;
                return Some(Self {
                    child,
                    number,
                    display,
                    conn,
                    root,
                });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("Xvfb {display} did not come up within {TIMEOUT:?}");
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Fills a rectangle of the root window with `rgb` (0xRRGGBB on a 24-bit screen).
    fn fill(&self, rgb: u32, x: i16, y: i16, width: u16, height: u16) {
        let gc = self.conn.generate_id().unwrap();
        let aux = CreateGCAux::new().foreground(rgb);
        self.conn.create_gc(gc, self.root, &aux).unwrap();
        let rect = Rectangle {
            x,
            y,
            width,
            height,
        };
        self.conn
            .poly_fill_rectangle(self.root, gc, &[rect])
            .unwrap();
        self.conn.free_gc(gc).unwrap();
        self.sync();
    }

    fn sync(&self) {
        self.conn.get_input_focus().unwrap().reply().unwrap();
    }

    fn pointer(&self) -> (i16, i16) {
        let reply = self.conn.query_pointer(self.root).unwrap().reply().unwrap();
        (reply.root_x, reply.root_y)
    }

    /// Runs an X client on this display and returns its standard output.
    fn run(&self, program: &str, args: &[&str]) -> String {
        let child = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let output = wait_for_exit(child, program).wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its socket and lock file.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + TIMEOUT;
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let _ = std::fs::remove_file(socket_path(self.number));
                let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.number));
                break;
            }
            sleep(Duration::from_millis(20));
        }
        release(self.number);
    }
}

fn socket_path(number: u32) -> PathBuf {
    Path::new("/tmp/.X11-unix").join(format!("X{number}"))
}

fn claim(number: u32) -> bool {
    let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
    if claimed.contains(&number) {
        return false;
    }
    claimed.push(number);
    true
}

fn release(number: u32) {
    CLAIMED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&n| n != number);
}

/// Waits for `child` to exit, killing it after [`TIMEOUT`].
fn wait_for_exit(mut child: Child, what: &str) -> Child {
    let deadline = Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {TIMEOUT:?}");
        }
        sleep(Duration::from_millis(20));
    }
    child
}

/// Polls `check` until it returns something, for up to [`TIMEOUT`].
fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting for {what}"
        );
        sleep(Duration::from_millis(20));
    }
}

/// B, G, R of a pixel (alpha is left as the server wrote it).
fn bgr(frame: &BgraFrame<'_>, x: u32, y: u32) -> [u8; 3] {
    let [b, g, r, _] = frame.pixel(x, y).unwrap();
    [b, g, r]
}

const RED: u32 = 0xff_0000;
const GREEN: u32 = 0x00_ff00;
const BLUE: u32 = 0x00_00ff;
const BGR_RED: [u8; 3] = [0, 0, 255];
const BGR_GREEN: [u8; 3] = [0, 255, 0];
const BGR_BLUE: [u8; 3] = [255, 0, 0];

#[test]
fn capture_reads_drawn_pixels_through_shared_memory() {
    let xvfb = Xvfb::start("1280x720x24");
    xvfb.fill(RED, 10, 10, 100, 50);
    xvfb.fill(BLUE, 640, 360, 20, 20);
    xvfb.fill(GREEN, 1270, 710, 10, 10);

    let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
    assert!(capturer.uses_shared_memory());
    let monitors = capturer.monitors().unwrap();
    assert_eq!(monitors.len(), 1, "{monitors:?}");
    let m = &monitors[0];
    assert_eq!((m.index, m.x, m.y, m.width, m.height), (0, 0, 0, 1280, 720));
    // Xvfb's one output is called "screen".
    assert_eq!(m.name, "screen");

    let frame = capturer.capture().unwrap();
    assert_eq!((frame.width(), frame.height()), (1280, 720));
    assert_eq!(frame.stride(), 1280 * 4);
    assert_eq!(bgr(&frame, 10, 10), BGR_RED);
    assert_eq!(bgr(&frame, 109, 59), BGR_RED);
    assert_ne!(bgr(&frame, 110, 60), BGR_RED);
    assert_eq!(bgr(&frame, 645, 365), BGR_BLUE);
    assert_eq!(bgr(&frame, 1279, 719), BGR_GREEN);

    // The next frame shows what changed in between.
    xvfb.fill(GREEN, 10, 10, 100, 50);
    let frame = capturer.capture().unwrap();
    assert_eq!(bgr(&frame, 10, 10), BGR_GREEN);
}

#[test]
fn capture_falls_back_to_the_socket_without_mit_shm() {
    let xvfb = Xvfb::start_with("640x480x24", &["-extension", "MIT-SHM"]);
    xvfb.fill(BLUE, 100, 200, 10, 10);
    let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
    assert!(!capturer.uses_shared_memory());
    let frame = capturer.capture().unwrap();
    assert_eq!((frame.width(), frame.height()), (640, 480));
    assert_eq!(bgr(&frame, 105, 205), BGR_BLUE);
}

#[test]
fn two_monitors_are_listed_primary_first_and_captured_separately() {
    let xvfb = Xvfb::start("2560x720x24");
    // A leading `*` makes the monitor primary.
    xvfb.run(
        "xrandr",
        &["--setmonitor", "left", "1280/338x720/190+0+0", "none"],
    );
    xvfb.run(
        "xrandr",
        &[
            "--setmonitor",
            "*right",
            "1280/338x720/190+1280+0",
            "screen",
        ],
    );
    xvfb.fill(RED, 0, 0, 1280, 720);
    xvfb.fill(BLUE, 1280, 0, 1280, 720);

    let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
    let monitors = capturer.monitors().unwrap();
    let summary: Vec<_> = monitors
        .iter()
        .map(|m| {
            (
                m.index,
                m.name.as_str(),
                m.x,
                m.y,
                m.width,
                m.height,
                m.primary,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, "right", 1280, 0, 1280, 720, true),
            (1, "left", 0, 0, 1280, 720, false)
        ]
    );

    // Monitor 0 (the primary, on the right) is selected after opening.
    let frame = capturer.capture().unwrap();
    assert_eq!((frame.width(), frame.height()), (1280, 720));
    assert_eq!(bgr(&frame, 0, 0), BGR_BLUE);
    assert_eq!(bgr(&frame, 1279, 719), BGR_BLUE);

    assert_eq!(capturer.select_monitor(1).unwrap().name, "left");
    let frame = capturer.capture().unwrap();
    assert_eq!(bgr(&frame, 0, 0), BGR_RED);
    assert_eq!(bgr(&frame, 1279, 719), BGR_RED);
    assert!(matches!(
        capturer.select_monitor(2),
        Err(CaptureError::NoSuchMonitor(2))
    ));

    // Cursor positions are relative to the selected monitor.
    capturer.select_monitor(0).unwrap();
    let mut injector = X11Injector::open(Some(&xvfb.display)).unwrap();
    injector.move_pointer(1300, 50).unwrap();
    assert_eq!(xvfb.pointer(), (1300, 50));
    let cursor = capturer.cursor().unwrap().unwrap();
    assert_eq!((cursor.x, cursor.y), (20, 50));
}

#[test]
fn a_resized_monitor_is_captured_at_its_new_size() {
    let xvfb = Xvfb::start("1280x720x24");
    xvfb.fill(RED, 320, 180, 1, 1);
    xvfb.fill(GREEN, 959, 539, 1, 1);
    let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
    let frame = capturer.capture().unwrap();
    assert_eq!((frame.width(), frame.height()), (1280, 720));

    // The monitor shrinks to the middle of the screen.
    xvfb.run(
        "xrandr",
        &["--setmonitor", "middle", "640/169x360/95+320+180", "screen"],
    );
    let frame = capturer.capture().unwrap();
    assert_eq!((frame.width(), frame.height()), (640, 360));
    assert_eq!(frame.stride(), 640 * 4);
    assert_eq!(bgr(&frame, 0, 0), BGR_RED);
    assert_eq!(bgr(&frame, 639, 359), BGR_GREEN);
    assert!(capturer.uses_shared_memory());

    xvfb.run("xrandr", &["--delmonitor", "middle"]);
    let frame = capturer.capture().unwrap();
    assert_eq!((frame.width(), frame.height()), (1280, 720));
    assert_eq!(bgr(&frame, 320, 180), BGR_RED);
}

#[test]
fn dropping_the_capturer_frees_the_shared_memory() {
    // An odd size that no other test uses, to recognise our segment.
    let xvfb = Xvfb::start("1000x500x24");
    let size = (1000 * 500 * 4).to_string();
    let ours = || {
        let table = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
        let pid = std::process::id().to_string();
        table
            .lines()
            .filter(|line| {
                let fields: Vec<_> = line.split_whitespace().collect();
                fields.get(3) == Some(&size.as_str()) && fields.get(4) == Some(&pid.as_str())
            })
            .count()
    };
    let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
    capturer.capture().unwrap();
    assert_eq!(ours(), 1);
    drop(capturer);
    wait_until("the segment to go away", || (ours() == 0).then_some(()));
}

#[test]
fn cursor_reports_position_and_shape_once() {
    let xvfb = Xvfb::start("1280x720x24");
    let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
    let first = capturer.cursor().unwrap().unwrap();
    let shape = first.shape.expect("the first call has the shape");
    assert!(shape.width > 0 && shape.height > 0);
    assert_eq!(shape.rgba.len(), (shape.width * shape.height * 4) as usize);
    assert!(shape.hot_x < shape.width && shape.hot_y < shape.height);
    assert!(
        shape.rgba.chunks(4).any(|px| px[3] == 255),
        "some opaque pixel"
    );

    xvfb.run("xdotool", &["mousemove", "100", "150"]);
    let moved = capturer.cursor().unwrap().unwrap();
    assert_eq!((moved.x, moved.y), (100, 150));
    assert_eq!(moved.shape_serial, first.shape_serial);
    assert_eq!(moved.shape, None, "unchanged shape is not sent again");
}

#[test]
fn pointer_buttons_and_wheel_reach_a_window() {
    let xvfb = Xvfb::start("1280x720x24");
    let window = xvfb.conn.generate_id().unwrap();
    let screen = &xvfb.conn.setup().roots[0];
    let aux = CreateWindowAux::new()
        .background_pixel(screen.white_pixel)
        .event_mask(EventMask::BUTTON_PRESS | EventMask::BUTTON_RELEASE);
    xvfb.conn
        .create_window(
            screen.root_depth,
            window,
            xvfb.root,
            0,
            0,
            200,
            200,
            0,
            WindowClass::INPUT_OUTPUT,
            screen.root_visual,
            &aux,
        )
        .unwrap();
    xvfb.conn.map_window(window).unwrap();
    wait_until("the window to be mapped", || {
        let attributes = xvfb.conn.get_window_attributes(window).unwrap();
        (attributes.reply().unwrap().map_state == MapState::VIEWABLE).then_some(())
    });

    let mut injector = X11Injector::open(Some(&xvfb.display)).unwrap();
    injector.move_pointer(50, 60).unwrap();
    assert_eq!(xvfb.pointer(), (50, 60));
    for button in [
        MouseButton::Left,
        MouseButton::Middle,
        MouseButton::Right,
        MouseButton::Back,
        MouseButton::Forward,
    ] {
        injector.button(button, true).unwrap();
        injector.button(button, false).unwrap();
    }
    injector.wheel(-1, 2).unwrap();
    injector.wheel(1, -1).unwrap();

    // (pressed, X button) as the window saw them.
    let expected = [1, 2, 3, 8, 9, 5, 5, 6, 4, 7]
        .into_iter()
        .flat_map(|b| [(true, b), (false, b)])
        .collect::<Vec<_>>();
    let mut seen = Vec::new();
    wait_until("all button events", || {
        while let Some(event) = xvfb.conn.poll_for_event().unwrap() {
            match event {
                Event::ButtonPress(e) => seen.push((true, e.detail)),
                Event::ButtonRelease(e) => seen.push((false, e.detail)),
                _ => {}
            }
        }
        (seen.len() >= expected.len()).then_some(())
    });
    assert_eq!(seen, expected);
}

fn key(usage: u16, pressed: bool) -> KeyEvent {
    KeyEvent {
        usb_hid_usage: usage,
        keysym: None,
        text: None,
        modifiers: Modifiers::default(),
        pressed,
    }
}

fn tap(injector: &mut X11Injector, usage: u16) {
    injector.key(&key(usage, true)).unwrap();
    injector.key(&key(usage, false)).unwrap();
}

#[test]
fn physical_keys_and_text_are_typed_into_a_terminal() {
    let xvfb = Xvfb::start("1280x720x24");
    let dir = tempfile::tempdir().unwrap();
    let typed = dir.path().join("typed.txt");
    let class = format!("lifeline-test-{}", xvfb.number);
    let script = format!("head -n 1 > '{}'", typed.display());
    let xterm = Command::new("xterm")
        .args([
            "-name",
            &class,
            "-u8",
            "-geometry",
            "80x10+0+0",
            "-e",
            "sh",
            "-c",
        ])
        .arg(&script)
        .env("DISPLAY", &xvfb.display)
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xterm is installed");
    let mut xterm = KillOnDrop(Some(xterm));
    let window = xvfb.run("xdotool", &["search", "--sync", "--classname", &class]);
    let window = window
        .lines()
        .next()
        .expect("xterm has a window")
        .to_owned();
    xvfb.run("xdotool", &["windowfocus", "--sync", &window]);

    let mut injector = X11Injector::open(Some(&xvfb.display)).unwrap();
    injector.move_pointer(100, 50).unwrap();
    injector.button(MouseButton::Left, true).unwrap();
    injector.button(MouseButton::Left, false).unwrap();
    // Shift + h, e, l, l, o by physical position.
    injector.key(&key(0xe1, true)).unwrap();
    tap(&mut injector, 0x0b);
    injector.key(&key(0xe1, false)).unwrap();
    for usage in [0x08, 0x0f, 0x0f, 0x12] {
        tap(&mut injector, usage);
    }
    injector.type_text(", Grüße 123").unwrap();
    tap(&mut injector, 0x28); // Enter

    let status = wait_for_exit(xterm.0.take().unwrap(), "xterm after one line").wait();
    assert!(status.unwrap().success());
    let text = std::fs::read_to_string(&typed).unwrap();
    assert_eq!(text, "Hello, Grüße 123\n");

    assert!(matches!(
        injector.key(&key(0x03, true)),
        Err(InputError::UnknownKey(0x03))
    ));

    // While the injector lives, `ü` (not on the US layout) is bound to a spare keycode;
    // dropping it restores the keyboard mapping.
    const UDIAERESIS: u32 = 0xfc;
    assert!(keysyms(&xvfb).contains(&UDIAERESIS));
    drop(injector);
    wait_until("the spare keycodes to be unbound", || {
        (!keysyms(&xvfb).contains(&UDIAERESIS)).then_some(())
    });
}

/// Every keysym of the display's keyboard mapping.
fn keysyms(xvfb: &Xvfb) -> Vec<u32> {
    let setup = xvfb.conn.setup();
    let count = setup.max_keycode - setup.min_keycode + 1;
    let mapping = xvfb.conn.get_keyboard_mapping(setup.min_keycode, count);
    mapping.unwrap().reply().unwrap().keysyms
}

/// Kills a helper process by PID if the test ends before it does.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn an_unreachable_display_says_what_to_do() {
    // Claimed so that no other test starts a server there meanwhile.
    let number = (60..80)
        .find(|&n| !socket_path(n).exists() && claim(n))
        .expect("a free display number");
    let display = format!(":{number}");
    let error = X11Capturer::open(Some(&display)).unwrap_err();
    assert!(matches!(&error, CaptureError::NoDisplay { display: d, .. } if *d == display));
    assert!(error.to_string().contains("--display"), "{error}");
    let error = X11Injector::open(Some(&display)).unwrap_err();
    assert!(matches!(&error, InputError::NoDisplay { display: d, .. } if *d == display));
    assert!(
        error.to_string().contains("pass another display"),
        "{error}"
    );
    release(number);
}

#[test]
fn without_display_variable_the_error_says_what_to_do() {
    const CHILD: &str = "LIFELINE_X11_TEST_WITHOUT_DISPLAY";
    const NAME: &str = "without_display_variable_the_error_says_what_to_do";
    if std::env::var_os(CHILD).is_some() {
        // In the child process, started below without DISPLAY.
        let error = X11Capturer::open(None).unwrap_err();
        assert!(error.to_string().contains("DISPLAY is not set"), "{error}");
        let error = X11Injector::open(None).unwrap_err();
        assert!(matches!(error, InputError::NoDisplay { .. }), "{error}");
        assert!(error.to_string().contains("--display :0"), "{error}");
        return;
    }
    // The environment is process-wide: the check runs in a child process of its own.
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--test-threads", "1"])
        .env_remove("DISPLAY")
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
}

/// Capture speed at 1920x1080, with and without MIT-SHM: `cargo test -p lifeline-agent
/// --release --test x11_platform -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark: prints milliseconds per frame"]
#[allow(clippy::print_stderr, reason = "the benchmark's output")]
fn capture_speed_1920x1080() {
    for extra in [&[][..], &["-extension", "MIT-SHM"][..]] {
        let xvfb = Xvfb::start_with("1920x1080x24", extra);
        let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
        for _ in 0..10 {
            capturer.capture().unwrap();
        }
        let frames = 100;
        let start = Instant::now();
        for _ in 0..frames {
            capturer.capture().unwrap();
        }
        let per_frame = start.elapsed() / frames;
        eprintln!(
            "capture 1920x1080 (shared memory: {}): {:.2} ms/frame",
            capturer.uses_shared_memory(),
            per_frame.as_secs_f64() * 1000.0
        );
    }
}

/// Takes whatever was reported before, so the next wait starts from a still screen.
fn settle(capturer: &mut X11Capturer) {
    for _ in 0..10 {
        if !capturer
            .wait_for_change(Duration::from_millis(300))
            .unwrap()
        {
            return;
        }
    }
    panic!("the screen never became still");
}

#[test]
fn a_still_screen_waits_for_drawing_in_any_window() {
    let xvfb = Xvfb::start("640x480x24");
    let mut capturer = X11Capturer::open(Some(&xvfb.display)).unwrap();
    settle(&mut capturer);
    assert!(
        !capturer
            .wait_for_change(Duration::from_millis(300))
            .unwrap(),
        "a still screen reported a change"
    );

    // Drawing on the root window is reported, once.
    xvfb.fill(RED, 10, 10, 50, 50);
    assert!(
        capturer.wait_for_change(Duration::from_secs(10)).unwrap(),
        "drawing was not reported"
    );
    settle(&mut capturer);

    // So is drawing inside an application's window.
    let window = xvfb.conn.generate_id().unwrap();
    xvfb.conn
        .create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            xvfb.root,
            100,
            100,
            200,
            100,
            0,
            WindowClass::INPUT_OUTPUT,
            x11rb::COPY_FROM_PARENT,
            &CreateWindowAux::new().background_pixel(0),
        )
        .unwrap();
    xvfb.conn.map_window(window).unwrap();
    xvfb.sync();
    settle(&mut capturer);
    let gc = xvfb.conn.generate_id().unwrap();
    xvfb.conn
        .create_gc(gc, window, &CreateGCAux::new().foreground(0x00ff_ffff))
        .unwrap();
    xvfb.conn
        .poly_fill_rectangle(
            window,
            gc,
            &[Rectangle {
                x: 5,
                y: 5,
                width: 20,
                height: 20,
            }],
        )
        .unwrap();
    xvfb.sync();
    assert!(
        capturer.wait_for_change(Duration::from_secs(10)).unwrap(),
        "drawing inside a child window was not reported"
    );
    let frame = capturer.capture().unwrap();
    assert_eq!(bgr(&frame, 110, 110), [0xff, 0xff, 0xff]);
}
