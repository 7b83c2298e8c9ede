import Testing
@testable import VCenterSimulator

@Suite struct GenerateSpecTests {
    @Test func parsesTheCLIForm() throws {
        let spec = try GenerateSpec(parsing: "clusters=3,hosts=8,vms=3000,from=legacy,to=new")
        #expect(spec.clusters == 3)
        #expect(spec.hostsPerCluster == 8)
        #expect(spec.vms == 3000)
        #expect(spec.fromPrefix == "legacy")
        #expect(spec.toPrefix == "new")
        #expect(spec.summary == "3 clusters, 24 hosts, 3000 VMs")
    }

    @Test func parsesOptionalKeysWithUnits() throws {
        let spec = try GenerateSpec(parsing: " datastores=6 , shared=yes,seed=42,size=0.5TB,sigma=1.5,memory=16,snapshots=0.2,consolidate=0.01,capacity=64,link=1,minsize=2GB,maxsize=8TB")
        #expect(spec.datastoresPerSide == 6)
        #expect(spec.sharedDatastores)
        #expect(spec.seed == 42)
        #expect(spec.meanSizeBytes == 512 * GenerateSpec.gib)
        #expect(spec.sizeSigma == 1.5)
        #expect(spec.meanMemoryMB == 16 * 1024)
        #expect(spec.snapshotFraction == 0.2)
        #expect(spec.consolidateFraction == 0.01)
        #expect(spec.capacityBytes == 64 * GenerateSpec.tib)
        #expect(spec.vmotionLinkGbps == 1)
        #expect(spec.minSizeBytes == 2 * GenerateSpec.gib)
        #expect(spec.maxSizeBytes == 8 * GenerateSpec.tib)
    }

    @Test func emptySpecGivesDefaults() throws {
        #expect(try GenerateSpec(parsing: "") == GenerateSpec())
        #expect(GenerateSpec().vms == 3000)
    }

    @Test func canonicalFormParsesBack() throws {
        let spec = try GenerateSpec(parsing: "clusters=2,hosts=4,vms=100,seed=7,size=90GB,capacity=3.5TB,shared=true")
        #expect(try GenerateSpec(parsing: spec.description) == spec)
    }

    @Test(arguments: [
        ("clustrs=3", "unknown key 'clustrs'"),
        ("vms=abc", "'vms=abc' must be a whole number"),
        ("hosts=0", "'hosts=0' must be a whole number from 1"),
        ("snapshots=1.5", "must be a fraction from 0 to 1"),
        ("size=huge", "must be a positive size"),
        ("from=new,to=new", "'from' and 'to' must differ"),
        ("vms", "is not key=value"),
        ("vms=1,vms=2", "given twice"),
        ("minsize=10TB", "minsize"),
        ("link=3", "'link=3' must be a vMotion network speed"),
        ("shared=maybe", "must be true or false"),
        ("from=a b", "datastore name prefix"),
    ])
    func rejectsBadSpecsClearly(text: String, expected: String) {
        #expect {
            _ = try GenerateSpec(parsing: text)
        } throws: { error in
            let message = String(describing: error)
            return error is GenerateSpecError && message.hasPrefix("--generate: ") && message.contains(expected)
        }
    }

    @Test func parsesAndFormatsByteCounts() {
        #expect(GenerateSpec.parseBytes("170", defaultUnit: GenerateSpec.gib) == 170 * GenerateSpec.gib)
        #expect(GenerateSpec.parseBytes("1.5T", defaultUnit: GenerateSpec.gib) == 3 * GenerateSpec.tib / 2)
        #expect(GenerateSpec.parseBytes("512 MiB", defaultUnit: GenerateSpec.gib) == 512 << 20)
        #expect(GenerateSpec.parseBytes("12XB", defaultUnit: 1) == nil)
        #expect(GenerateSpec.formatBytes(170 * GenerateSpec.gib) == "170GB")
        #expect(GenerateSpec.formatBytes(3 * GenerateSpec.tib / 2) == "1.5TB")
        #expect(GenerateSpec.formatBytes(3 * GenerateSpec.tib / 2, exact: true) == "1536GB")
    }
}
