//! Every string the end user sees, in English and Simplified Chinese.
//!
//! The language comes from `--lang`, else from the locale (`LC_ALL`, `LC_MESSAGES`,
//! `LANG`): `zh*` gives Simplified Chinese, anything else English.

use lifeline_protocol::Scope;

/// A language of the end-user texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// Parses `--lang` values such as `en`, `zh`, `zh_CN.UTF-8`.
    pub fn parse(value: &str) -> Option<Lang> {
        let lower = value.trim().to_ascii_lowercase();
        if lower.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if lower.starts_with("en") || lower == "c" || lower == "posix" {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language of the environment's locale, English when unset or unknown.
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty())
            .and_then(|value| Lang::parse(&value))
            .unwrap_or(Lang::En)
    }

    /// The texts of this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::ZhCn => &ZH_CN,
        }
    }
}

/// The strings of one language.
#[derive(Debug)]
pub struct Texts {
    /// Window title.
    pub app_title: &'static str,
    /// Above the device ID.
    pub your_device_id: &'static str,
    /// Above the code.
    pub your_code: &'static str,
    /// Explains what to do with the code.
    pub read_code_hint: &'static str,
    /// Copy button.
    pub copy: &'static str,
    /// Consent title.
    pub consent_title: &'static str,
    /// "… wants to connect" (after the name).
    pub wants_to_connect: &'static str,
    /// Label before the key fingerprint.
    pub key_fingerprint: &'static str,
    /// Shown when the identity is not verified.
    pub unverified: &'static str,
    /// Shown before a verifying organisation's name.
    pub verified_by: &'static str,
    /// Label before the technician's reason.
    pub reason: &'static str,
    /// Above the permission checkboxes.
    pub asks_permission_to: &'static str,
    /// The warning against scams.
    pub scam_warning: &'static str,
    /// Allow button.
    pub allow: &'static str,
    /// Deny button.
    pub deny: &'static str,
    /// Banner: "connected" label before the technician's name.
    pub connected_to: &'static str,
    /// Banner: above the permission switches.
    pub may_now: &'static str,
    /// Stop button.
    pub stop: &'static str,
    /// Told after a wrong code.
    pub wrong_code_tried: &'static str,
    /// Told after the code was rotated for wrong attempts.
    pub code_locked: &'static str,
    /// Told when a session ended.
    pub session_ended: &'static str,
    /// After a lost connection, before the time left ("… within 1:45").
    pub may_resume_within: &'static str,
    /// The button that refuses that reconnection.
    pub refuse_resume: &'static str,
    /// The chat's heading in the banner.
    pub chat: &'static str,
    /// The user's own lines in the chat.
    pub you: &'static str,
    /// Greyed hint in the empty chat field.
    pub chat_hint: &'static str,
    /// The chat's send button.
    pub send: &'static str,
    /// Before a technician's chat line on a terminal.
    pub tty_chat_from: &'static str,
    /// How to write in the chat on a terminal.
    pub tty_chat_hint: &'static str,
    /// How to refuse it on a terminal.
    pub tty_refuse_resume: &'static str,
    /// Terminal prompt for an answer.
    pub tty_answer_prompt: &'static str,
    /// Before the time the code still works ("Valid for 4:59").
    pub code_valid_for: &'static str,
    /// Told when the code has expired and no new one has come yet.
    pub code_expired: &'static str,
    /// Copy button once the code was copied.
    pub copied: &'static str,
    /// Unit after a number of seconds.
    pub seconds: &'static str,
    /// Shown before the first code arrives.
    pub starting: &'static str,
    /// Title of a request for more permissions during a session.
    pub more_permissions_title: &'static str,
    /// Shown after a session ended, until the next code arrives.
    pub waiting_for_new_code: &'static str,
    /// Button that hides an error message.
    pub dismiss: &'static str,
    /// Service mode: before the list of organisations whose technicians may connect.
    pub unattended_only: &'static str,
    /// Service mode: what the user will see.
    pub unattended_only_hint: &'static str,
    /// In a prompt: the technician came in without a code.
    pub unattended_prompt: &'static str,
    /// Asked after a long attended session.
    pub continue_question: &'static str,
    /// Button: keep the session.
    pub continue_yes: &'static str,
    /// Before the time left to answer "continue?".
    pub continue_ends_in: &'static str,
    /// After the technician's name: what follows is one command to confirm.
    pub action_question: &'static str,
    /// After the technician's name: what follows is one file transfer to confirm.
    pub file_question: &'static str,
    /// The transfer to confirm, a file coming in: `{file}`, `{size}`, `{folder}`.
    pub receive_file_sentence: &'static str,
    /// The transfer to confirm, a file going out: `{path}`, `{size}`.
    pub send_file_sentence: &'static str,
    /// Button: allow this one action.
    pub allow_once: &'static str,
    /// The technician took back the action the end user was asked about.
    pub action_withdrawn: &'static str,
    /// Shown while the technician records the session.
    pub being_recorded: &'static str,
    /// Said when nobody records the session any more.
    pub recording_stopped: &'static str,
    /// Shown while the agent records the session by policy.
    pub recorded_by_policy: &'static str,
}

impl Texts {
    /// After the technician's name: the question for one action under `scope`.
    pub fn question_for(&self, scope: Scope) -> &'static str {
        match scope {
            Scope::FileTransfer => self.file_question,
            _ => self.action_question,
        }
    }

    /// A permission in plain words.
    pub fn scope(&self, scope: Scope) -> &'static str {
        let english = std::ptr::eq(self, &EN);
        match (scope, english) {
            (Scope::ViewScreen, true) => "See your screen",
            (Scope::ControlInput, true) => "Control your mouse and keyboard",
            (Scope::Clipboard, true) => "Read and change your clipboard",
            (Scope::FileTransfer, true) => "Send and receive files",
            (Scope::SystemInfo, true) => "Read information about this computer",
            (Scope::Diagnostics, true) => "Run diagnostics",
            (Scope::RunCommands, true) => "Run commands on this computer",
            (Scope::RecordSession, true) => "Record this session",
            (Scope::ViewScreen, false) => "查看您的屏幕",
            (Scope::ControlInput, false) => "控制您的鼠标和键盘",
            (Scope::Clipboard, false) => "读取和修改您的剪贴板",
            (Scope::FileTransfer, false) => "发送和接收文件",
            (Scope::SystemInfo, false) => "读取这台电脑的信息",
            (Scope::Diagnostics, false) => "运行诊断",
            (Scope::RunCommands, false) => "在这台电脑上运行命令",
            (Scope::RecordSession, false) => "录制本次会话",
            (_, true) => "Another permission",
            (_, false) => "其他权限",
        }
    }
}

static EN: Texts = Texts {
    app_title: "Lifeline – remote support",
    your_device_id: "Your device ID",
    your_code: "Your one-time code",
    read_code_hint: "Read this code to the technician you called. It works once and expires soon.",
    copy: "Copy",
    consent_title: "Allow remote support?",
    wants_to_connect: "wants to connect to this computer",
    key_fingerprint: "Key fingerprint",
    unverified: "Identity not verified",
    verified_by: "Verified by",
    reason: "Reason",
    asks_permission_to: "They ask permission to:",
    scam_warning: "Only allow someone you contacted yourself. Real support staff never call you first.",
    allow: "Allow",
    deny: "Deny",
    connected_to: "Connected to",
    may_now: "They may now:",
    stop: "Stop",
    wrong_code_tried: "Someone typed a wrong code for this computer.",
    code_locked: "Wrong codes were tried too often. Your code has changed; new attempts wait",
    session_ended: "The session has ended",
    may_resume_within: "The connection to your technician was lost. The same technician may reconnect without a new code, with the permissions you gave, within",
    refuse_resume: "Do not let them reconnect",
    chat: "Chat",
    you: "You",
    chat_hint: "Write to the technician",
    send: "Send",
    tty_chat_from: "The technician says",
    tty_chat_hint: "(type 'say' and your answer to reply)",
    tty_refuse_resume: "Type 'no reconnect' to refuse.",
    tty_answer_prompt: "Allow? [y = all asked, n = refuse, or a list such as view,input]: ",
    code_valid_for: "Valid for",
    code_expired: "This code has expired. A new code will appear in a moment.",
    copied: "Copied",
    seconds: "s",
    starting: "Starting…",
    more_permissions_title: "The technician asks for more",
    waiting_for_new_code: "A new code will appear in a moment.",
    dismiss: "OK",
    unattended_only: "This computer accepts remote support without a code from technicians of:",
    unattended_only_hint: "When one connects you will see it here, and you can stop it at any time.",
    unattended_prompt: "Connected without a code (unattended access). Your organisation's policy \
                        asks you to confirm:",
    continue_question: "The support session is still running. Continue?",
    continue_yes: "Continue",
    continue_ends_in: "Without an answer it ends in",
    action_question: "asks to run this command on your computer, once:",
    file_question: "asks to move a file, once:",
    receive_file_sentence: "receive the file {file} ({size}) into {folder}",
    send_file_sentence: "send the file {path} ({size}) to the technician",
    allow_once: "Allow once",
    action_withdrawn: "The technician withdrew this request; nothing was done.",
    being_recorded: "● This session is being recorded by the technician",
    recording_stopped: "The session is no longer recorded.",
    recorded_by_policy: "● This session is recorded, as your organisation requires",
};

static ZH_CN: Texts = Texts {
    app_title: "Lifeline – 远程协助",
    your_device_id: "您的设备 ID",
    your_code: "您的一次性验证码",
    read_code_hint: "请把这个验证码告诉您联系的技术人员。它只能使用一次，很快就会过期。",
    copy: "复制",
    consent_title: "允许远程协助吗？",
    wants_to_connect: "请求连接到这台电脑",
    key_fingerprint: "密钥指纹",
    unverified: "身份未经验证",
    verified_by: "验证方",
    reason: "原因",
    asks_permission_to: "对方请求以下权限：",
    scam_warning: "只允许您自己联系的人。真正的技术支持人员不会主动给您打电话。",
    allow: "允许",
    deny: "拒绝",
    connected_to: "已连接到",
    may_now: "对方现在可以：",
    stop: "停止",
    wrong_code_tried: "有人为这台电脑输入了错误的验证码。",
    code_locked: "错误验证码尝试次数过多。您的验证码已更换；新的尝试需要等待",
    session_ended: "会话已结束",
    may_resume_within: "与技术人员的连接已中断。同一位技术人员可在以下时间内无需新代码、以您已授予的权限重新连接：",
    refuse_resume: "不允许其重新连接",
    chat: "聊天",
    you: "您",
    chat_hint: "给技术人员留言",
    send: "发送",
    tty_chat_from: "技术人员说",
    tty_chat_hint: "（输入 'say' 加回复内容即可回复）",
    tty_refuse_resume: "输入 'no reconnect' 可拒绝。",
    tty_answer_prompt: "允许吗？[y = 全部允许，n = 拒绝，或列出权限，例如 view,input]：",
    code_valid_for: "有效期还剩",
    code_expired: "这个验证码已过期。新的验证码马上就会出现。",
    copied: "已复制",
    seconds: "秒",
    starting: "正在启动…",
    more_permissions_title: "技术人员请求更多权限",
    waiting_for_new_code: "新的验证码马上就会出现。",
    dismiss: "知道了",
    unattended_only: "此电脑接受以下机构的技术人员无需验证码进行远程支持：",
    unattended_only_hint: "有技术人员连接时您会在这里看到，并可随时停止。",
    unattended_prompt: "已在无需验证码的情况下连接（无人值守访问）。您所在机构的策略要求您确认：",
    continue_question: "远程支持会话仍在进行。是否继续？",
    continue_yes: "继续",
    continue_ends_in: "如不回答，会话将在以下时间后结束：",
    action_question: "请求在您的电脑上运行以下命令（仅此一次）：",
    file_question: "请求传输一个文件（仅此一次）：",
    receive_file_sentence: "接收文件 {file}（{size}），保存到 {folder}",
    send_file_sentence: "把文件 {path}（{size}）发送给技术人员",
    allow_once: "允许一次",
    action_withdrawn: "技术人员已撤回此请求，未执行任何操作。",
    being_recorded: "● 技术人员正在录制本次会话",
    recording_stopped: "本次会话已停止录制。",
    recorded_by_policy: "● 按照您所在机构的要求，本次会话正在录制",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_picks_the_language() {
        assert_eq!(Lang::parse("zh_CN.UTF-8"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("en_US.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("C"), Some(Lang::En));
        assert_eq!(Lang::parse("fr_FR"), None);
        assert_eq!(Lang::ZhCn.texts().scope(Scope::ViewScreen), "查看您的屏幕");
        assert_eq!(
            Lang::En.texts().scope(Scope::ControlInput),
            "Control your mouse and keyboard"
        );
    }
}
