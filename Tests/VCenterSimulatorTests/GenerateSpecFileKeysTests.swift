import Testing
@testable import VCenterSimulator

@Suite struct GenerateSpecFileKeysTests {
    @Test func parsesTheFileKeys() throws {
        let spec = try GenerateSpec(parsing: "disks=2-5,flash=2,spread=0.3,thin=0.7,rdm=0.1,vrdm=0.05,multiwriter=0.02,iso=0.2,templates=0.04,off=0.1,ft=0.01,pods=1")
        #expect(spec.disksMin == 2 && spec.disksMax == 5)
        #expect(spec.flashPerCluster == 2)
        #expect(spec.spreadFraction == 0.3)
        #expect(spec.thinFraction == 0.7)
        #expect(spec.rdmFraction == 0.1)
        #expect(spec.vrdmFraction == 0.05)
        #expect(spec.multiWriterFraction == 0.02)
        #expect(spec.isoFraction == 0.2)
        #expect(spec.templateFraction == 0.04)
        #expect(spec.poweredOffFraction == 0.1)
        #expect(spec.faultToleranceFraction == 0.01)
        #expect(spec.datastoreClusters)
        #expect(try GenerateSpec(parsing: spec.description) == spec)
        #expect(spec.description.hasSuffix(",disks=2-5,flash=2,spread=0.3,thin=0.7,rdm=0.1,vrdm=0.05,multiwriter=0.02,iso=0.2,templates=0.04,off=0.1,ft=0.01,pods=1"))
        let three = try GenerateSpec(parsing: "disks=3,pods=0")
        #expect(three.disksMin == 3 && three.disksMax == 3 && !three.datastoreClusters)
        #expect(try GenerateSpec(parsing: three.description) == three)
    }

    @Test("defaults: one disk, no flash, spread and thin 0.5, 5% powered off; printed as before")
    func defaults() {
        let spec = GenerateSpec()
        #expect(spec.disksMin == 1 && spec.disksMax == 1 && spec.flashPerCluster == 0)
        #expect(spec.spreadFraction == 0.5 && spec.thinFraction == 0.5 && spec.poweredOffFraction == 0.05)
        #expect(spec.rdmFraction == 0 && spec.vrdmFraction == 0 && spec.multiWriterFraction == 0 && spec.isoFraction == 0)
        #expect(spec.templateFraction == 0 && spec.faultToleranceFraction == 0 && !spec.datastoreClusters)
        #expect(!spec.description.contains("disks=") && spec.description.hasSuffix("link=10"))
    }

    @Test(arguments: [
        ("disks=0", "'disks=0' must be a number of disks per VM from 1 to 60"),
        ("disks=4-2", "or a range such as 1-4"),
        ("disks=61", "from 1 to 60"),
        ("disks=a-b", "must be a number of disks"),
        ("flash=-1", "'flash=-1' must be a whole number"),
        ("spread=2", "must be a fraction from 0 to 1"),
        ("ft=x", "must be a fraction"),
        ("pods=2", "'pods=2' must be true or false"),
        ("flash=1,from=flash", "must not be 'flash'"),
        ("diskz=2", "known keys: clusters, hosts, vms, from, to, datastores, shared, seed, size, sigma, minsize, maxsize, memory, snapshots, consolidate, capacity, link, disks, flash, spread, thin, rdm, vrdm, multiwriter, iso, templates, off, ft, pods"),
    ])
    func rejectsBadFileKeys(text: String, expected: String) {
        #expect {
            _ = try GenerateSpec(parsing: text)
        } throws: { error in
            String(describing: error).contains(expected)
        }
    }
}
