import VCenterModel
import VimXML

/// `TaskInfo` from its XML form.
enum TaskDecoding {
    /// Decodes a `TaskInfo` element. `ref` is used when the element lacks `task`. `name` is
    /// vCenter's `name` (the method, `RelocateVM_Task`); `descriptionId` is kept apart.
    static func info(_ element: XMLElement, ref: MoRef? = nil) -> TaskInfo? {
        var taskRef = ref
        var name = ""
        var descriptionId: String?
        var entity: MoRef?
        var entityName: String?
        var state = TaskState.queued
        var progress: Int?
        var result: PropertyValue?
        var error: VCenterFault?
        var queueTime, startTime, completeTime: XMLElement?
        var cancelable = false
        for child in element.children {
            switch child.name {
            case "task": taskRef = child.moRef ?? taskRef
            case "name": name = child.text
            case "descriptionId": descriptionId = child.text
            case "entity": entity = child.moRef
            case "entityName": entityName = child.text
            case "state": state = TaskState(rawValue: child.text) ?? .queued
            case "progress": progress = child.int
            case "result": result = child.propertyValue
            case "error": error = fault(child)
            case "queueTime": queueTime = child
            case "startTime": startTime = child
            case "completeTime": completeTime = child
            case "cancelable": cancelable = child.bool ?? false
            default: break
            }
        }
        guard let taskRef else { return nil }
        return TaskInfo(
            ref: taskRef, name: name.isEmpty ? (descriptionId ?? "") : name, descriptionId: descriptionId, entity: entity, entityName: entityName, state: state,
            progress: progress, result: result, error: error, queueTime: queueTime?.date, startTime: startTime?.date,
            completeTime: completeTime?.date, cancelable: cancelable)
    }

    /// A `LocalizedMethodFault` (`fault` with its `xsi:type`, `localizedMessage`) as a fault value.
    static func fault(_ element: XMLElement) -> VCenterFault {
        let faultElement = element.child("fault")
        var type = faultElement?.xsiType ?? "SystemError"
        if type.hasSuffix("Fault"), faultElement?.xsiType == nil { type.removeLast(5) }
        var message = element.child("localizedMessage")?.text ?? ""
        if message.isEmpty {
            message = faultElement?.children("faultMessage").compactMap { $0.child("message")?.text }.first ?? ""
        }
        return VCenterFault(type: type, message: message)
    }

    /// Applies one property change (`info` whole, or one of its fields) to `info`.
    static func apply(path: String, value: XMLElement?, to info: inout TaskInfo) {
        switch path {
        case "info":
            if let value, var decoded = TaskDecoding.info(value, ref: info.ref) {
                // A name known from the call that started the task stays (never blank).
                if decoded.name.isEmpty { decoded.name = info.name }
                info = decoded
            }
        case "info.state":
            if let text = value?.text, let state = TaskState(rawValue: text) {
                info.state = state
                // A filter without info.progress never sees the last step: done is 100%.
                if state == .success { info.progress = 100 }
            }
        case "info.progress":
            info.progress = value?.int
        case "info.result":
            info.result = value?.propertyValue
        case "info.error":
            info.error = value.map(fault)
        case "info.startTime":
            info.startTime = value?.date
        case "info.completeTime":
            info.completeTime = value?.date
        case "info.cancelable":
            info.cancelable = value?.bool ?? false
        default:
            break
        }
    }
}
